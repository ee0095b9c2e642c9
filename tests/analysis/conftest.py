import pytest

from webapp.analysis import model, training


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """A small but real model (generated load, a few seconds to train) in its own folder."""
    folder = tmp_path_factory.mktemp("analysis")
    training.train(folder, series_count=4, days=21, seed=1)
    return folder


@pytest.fixture
def models(trained):
    return model.load(trained)
