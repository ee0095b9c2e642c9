"""The static maintenance page: the expected end in Moscow time and the reason, escaped."""

from datetime import UTC, datetime

from webapp.maintenance import page


def test_the_page_names_the_expected_end_and_the_reason_escaped(tmp_path):
    written = page.write(
        tmp_path, datetime(2026, 12, 1, 0, 30, tzinfo=UTC), "Замена диска <b>на ПК</b>"
    )
    text = written.read_text(encoding="utf-8")
    assert "Ожидаемое окончание: 01.12.2026 03:30 по Москве." in text
    assert "Замена диска &lt;b&gt;на ПК&lt;/b&gt;" in text and "<b>" not in text
    assert "<script" not in text and "://" not in text  # self-contained, no JavaScript
    assert oct(written.stat().st_mode & 0o777) == "0o644"


def test_without_an_end_the_page_says_it_will_be_back_soon(tmp_path):
    text = page.write(tmp_path).read_text(encoding="utf-8")
    assert "Мы вернёмся в течение нескольких минут." in text
