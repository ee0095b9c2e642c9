"""The character editor: rules, duplicates and near-duplicates, versions and rollback."""

from sqlalchemy import select

from tests.conftest import csrf_token
from webapp.characters import editor
from webapp.characters.models import Character, CharacterVersion
from webapp.db import utcnow

PROMPT = "Ты бывалый моряк Степан. Рассказываешь байки о дальних плаваниях, шутишь."


def form_data(client, path, **values):
    data = {
        "name": "Степан",
        "description": "Моряк",
        "system_prompt": PROMPT,
        "greeting": "Эй!",
        # one box per greeting (a greeting may have lines of its own), an empty one left over
        "alternate_greetings-0": "Здорово!",
        "alternate_greetings-1": "Ну,\nсадись.",
        "alternate_greetings-2": "",
        "temperature": "0.9",
        "max_length": "800",
        "examples-0-user": "Кто ты?",
        "examples-0-reply": "Моряк я.",
        "tags": "Море, байки",
        "state": "published",
        "filters": ["profanity"],
        "csrf_token": csrf_token(client, path),
    }
    data.update(values)
    return data


def test_a_manager_creates_and_edits_with_a_version_per_save(client, login_as, db_session):
    login_as("manager")
    response = client.post(
        "/manage/characters/new", data=form_data(client, "/manage/characters/new")
    )
    assert response.status_code == 302
    character = db_session.scalar(select(Character).where(Character.name == "Степан"))
    assert character.version == 1 and character.tags == ["Море", "байки"]  # as written, once
    assert character.examples == [{"user": "Кто ты?", "reply": "Моряк я."}]
    assert character.alternate_greetings == ["Здорово!", "Ну,\nсадись."]
    path = f"/manage/characters/{character.id}"
    client.post(path, data=form_data(client, path, description="Старый моряк"))
    db_session.expire_all()
    assert db_session.get(Character, character.id).version == 2
    versions = editor.versions(db_session, character.id)
    assert [v.number for v in versions] == [2, 1]
    assert (
        "-description: Моряк" in versions[0].diff
        and "+description: Старый моряк" in versions[0].diff
    )
    assert "Степан" in client.get("/?q=степан").get_data(as_text=True)
    assert "Степан" in client.get("/?q=море").get_data(as_text=True)  # found by tag


def test_every_rule_is_reported_at_once(client, login_as):
    login_as("manager")
    path = "/manage/characters/new"
    response = client.post(
        path,
        data=form_data(
            client,
            path,
            name="Я",
            description="д" * 501,
            system_prompt="",
            temperature="2.5",
            max_length="50",
            **{"examples-1-user": "только реплика"},
        ),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    for message in (
        "Имя: от 2 до 50",
        "Описание: не длиннее 500",
        "Системный промпт: от 1",
        "Температура: от 0.0 до 2.0",
        "Длина ответа: от 100 до 2000",
        "нужны реплика и ответ",
    ):
        assert message in page, message


def test_names_and_prompts_must_be_new(client, login_as, db_session):
    login_as("manager")
    path = "/manage/characters/new"
    client.post(path, data=form_data(client, path))
    dup = client.post(
        path,
        data=form_data(
            client,
            path,
            name="Стёпа",
            system_prompt="  ты БЫВАЛЫЙ моряк Степан.  Рассказываешь"
            " байки о дальних плаваниях, шутишь. ",
        ),
    )
    assert "такое же уже у «Степан»" in dup.get_data(as_text=True)
    taken = client.post(
        path, data=form_data(client, path, name=" СТЕПАН ", system_prompt="Ты пекарь.")
    )
    assert "Имя: такой персонаж уже есть" in taken.get_data(as_text=True)


def test_a_near_duplicate_needs_confirmation(client, login_as, db_session):
    login_as("manager")
    path = "/manage/characters/new"
    client.post(path, data=form_data(client, path))
    close = PROMPT.replace("Степан", "Семён")
    first = client.post(path, data=form_data(client, path, name="Семён", system_prompt=close))
    page = first.get_data(as_text=True)
    assert first.status_code == 422 and "похоже на «Степан» на" in page
    assert db_session.scalar(select(Character).where(Character.name == "Семён")) is None
    confirmed = client.post(
        path, data=form_data(client, path, name="Семён", system_prompt=close, confirm_similar="y")
    )
    assert confirmed.status_code == 302


def test_rollback_makes_a_new_version(client, login_as, db_session):
    user = login_as("manager")
    character, _ = editor.save(
        db_session,
        editor.Draft(name="Ника", system_prompt="Ты Ника."),
        author_id=user.id,
        now=utcnow(),
    )
    editor.save(
        db_session,
        editor.Draft(name="Ника", system_prompt="Ты Ника, поэтесса."),
        author_id=user.id,
        now=utcnow(),
        character=character,
    )
    db_session.commit()
    token = csrf_token(client, f"/manage/characters/{character.id}/versions")
    client.post(f"/manage/characters/{character.id}/versions/1/restore", data={"csrf_token": token})
    db_session.expire_all()
    restored = db_session.get(Character, character.id)
    assert restored.version == 3 and restored.system_prompt == "Ты Ника."
    count = db_session.scalars(
        select(CharacterVersion).where(CharacterVersion.character_id == character.id)
    ).all()
    assert len(count) == 3


def test_a_dialog_records_the_version_it_used(client, login_as, db_session):
    user = login_as("user")
    character, _ = editor.save(
        db_session,
        editor.Draft(name="Вера", system_prompt="Ты Вера.", state="published"),
        author_id=user.id,
        now=utcnow(),
    )
    db_session.commit()
    token = csrf_token(client, f"/characters/{character.id}")
    url = client.post(f"/characters/{character.id}/dialogs", data={"csrf_token": token})
    dialog_id = int(url.headers["Location"].rsplit("/", 1)[1])
    from webapp.chat.models import Dialog

    assert db_session.get(Dialog, dialog_id).character_version == 1


def test_users_cannot_open_the_editor(client, login_as):
    login_as("user")
    assert client.get("/manage/characters").status_code == 403


def test_avatar_upload_is_reencoded_and_shown_lazily(client, login_as, db_session, settings):
    import io

    from PIL import Image

    login_as("manager")
    image = io.BytesIO()
    Image.new("RGB", (400, 300), (10, 120, 200)).save(image, "PNG")
    image.seek(0)
    path = "/manage/characters/new"
    data = form_data(client, path)
    data["avatar"] = (image, "me.png")
    assert client.post(path, data=data, content_type="multipart/form-data").status_code == 302
    character = db_session.scalar(select(Character).where(Character.name == "Степан"))
    files = sorted(
        p.name for p in (settings.instance_path / "avatars").glob(f"{character.avatar}*")
    )
    assert files == [f"{character.avatar}-256.webp", f"{character.avatar}-64.webp"]
    page = client.get("/").get_data(as_text=True)
    assert f"/avatars/{character.avatar}-64.webp" in page and 'loading="lazy"' in page
    served = client.get(f"/avatars/{character.avatar}-256.webp")
    assert served.status_code == 200 and served.mimetype == "image/webp"


def test_a_bad_avatar_writes_nothing(client, login_as, db_session, settings):
    import io

    login_as("manager")
    path = "/manage/characters/new"
    data = form_data(client, path, name="Без аватара")
    data["avatar"] = (io.BytesIO(b"GIF89a not really"), "x.gif")
    response = client.post(path, data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Аватар:" in response.get_data(as_text=True)
    assert db_session.scalar(select(Character).where(Character.name == "Без аватара")) is None
    assert client.get("/avatars/..-64.webp").status_code == 404


def test_a_manager_cannot_republish_what_a_moderator_hid(client, login_as, db_session):
    """Not by the editor, not by a rollback to a published version, not by a lorebook save."""
    from webapp.accounts.models import Role

    login_as("manager")
    client.post("/manage/characters/new", data=form_data(client, "/manage/characters/new"))
    character = db_session.scalar(select(Character).where(Character.name == "Степан"))
    character.state, character.hidden_rank = "hidden", Role.MODERATOR.rank
    db_session.commit()
    path = f"/manage/characters/{character.id}"
    response = client.post(path, data=form_data(client, path, state="published"))
    assert response.status_code == 422
    assert "скрыл модератор" in response.get_data(as_text=True)
    restore = f"/manage/characters/{character.id}/versions/1/restore"
    client.post(restore, data={"csrf_token": csrf_token(client, f"{path}/versions")})
    lore = f"{path}/lorebook"
    entry = {"entries-0-keys": "море", "entries-0-content": "Море шумит.", "entries-0-enabled": "y"}
    client.post(lore, data={"csrf_token": csrf_token(client, lore), **entry})
    db_session.expire_all()
    character = db_session.get(Character, character.id)
    assert character.state == "hidden" and character.lorebook["entries"][0]["keys"] == ["море"]
    assert character.version == 3  # the rollback and the lorebook were saved, hidden still


def test_a_bad_avatar_is_reported_with_every_other_problem(client, login_as, db_session):
    import io

    login_as("manager")
    path = "/manage/characters/new"
    data = form_data(client, path, name="Я", system_prompt="")
    data["avatar"] = (io.BytesIO(b"not an image"), "face.png")
    response = client.post(path, data=data, content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    for message in (
        "Аватар: файл не читается",
        "Имя: от 2 до 50",
        "Системный промпт: от 1 до 2000",
    ):
        assert message in page, message
    assert db_session.scalar(select(Character).where(Character.name == "Я")) is None
