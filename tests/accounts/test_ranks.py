"""Rank rules: an account is acted on only from strictly above it; moderation decisions stay.

The matrix is walked from the URL map: every route marked `acts_on_account` × every actor role
the route admits × every target role. A route added later is covered without editing this file.
"""

import pytest
from sqlalchemy import select

from tests import factories
from tests.accounts.test_access import protected_rules
from tests.conftest import csrf_token
from webapp.accounts.models import Role, User
from webapp.characters.models import Character, CharacterState
from webapp.monitoring.models import LogEntry

# What each route needs in its form to do something (the rank check runs before any of it).
FORMS = {
    "admin.set_role": {"role": "user"},
    "admin.block": {"blocked": "1"},
    "admin.unlock_user": {},
    "moderation.block_user": {"blocked": "1", "reason": "спам в чате"},
}


def account_rules(app):
    return [
        (rule, minimum)
        for rule, minimum in protected_rules(app)
        if getattr(app.view_functions[rule.endpoint], "acts_on_account", False)
    ]


def test_every_route_acting_on_a_person_is_marked(app):
    marked = {rule.endpoint for rule, _ in account_rules(app)}
    assert marked == set(FORMS), "a route that acts on an account needs @acts_on_account"


@pytest.mark.parametrize("actor", list(Role)[1:], ids=str)
def test_rank_matrix(app, client, login_as, make_user, db_session, actor):
    me = login_as(actor)
    token = csrf_token(client, "/")
    for rule, minimum in account_rules(app):
        if not Role(actor).at_least(minimum):
            continue  # the role matrix in test_access covers this: 403 before any rank check
        for target_role in Role:
            # Keep a spare admin around, so the last-admin rule never answers instead.
            make_user(role=Role.ADMIN)
            target = make_user(role=target_role)
            url = rule.rule.replace("<int:user_id>", str(target.id))
            response = client.post(url, data={**FORMS[rule.endpoint], "csrf_token": token})
            allowed = Role(actor).rank > Role(target_role).rank
            assert (response.status_code != 403) == allowed, (rule.endpoint, actor, target_role)
            db_session.expire_all()
            after = db_session.get(User, target.id)
            if not allowed:
                assert after.role == target_role and not after.is_blocked
    # Acting on oneself is refused too, whatever the rank.
    for rule, minimum in account_rules(app):
        if Role(actor).at_least(minimum):
            url = rule.rule.replace("<int:user_id>", str(me.id))
            assert (
                client.post(url, data={**FORMS[rule.endpoint], "csrf_token": token}).status_code
                == 403
            )


def test_moderator_blocking_an_admin_is_refused_and_audited(
    client, login_as, make_user, db_session
):
    admin = make_user(role=Role.ADMIN)
    moderator = login_as(Role.MODERATOR)
    token = csrf_token(client, "/moderation/users")
    response = client.post(
        f"/moderation/users/{admin.id}/block",
        data={"blocked": "1", "reason": "просто так", "csrf_token": token},
    )
    assert response.status_code == 403
    db_session.expire_all()
    assert not db_session.get(User, admin.id).is_blocked
    entry = db_session.scalar(select(LogEntry).where(LogEntry.event == "action_refused"))
    assert entry is not None and entry.user_id == moderator.id
    assert entry.ip == "127.0.0.1" and entry.device
    assert f"user:{admin.id}" in entry.detail and "moderation.block_user" in entry.detail
    # The moderators' table offers no button that would only be refused.
    page = client.get("/moderation/users").text
    assert f'action="/moderation/users/{admin.id}/block"' not in page


def test_the_last_admin_is_never_blocked_or_demoted(db_session, make_user):
    from webapp.accounts.errors import InvalidAccountData
    from webapp.accounts.service import change_role, set_blocked

    only = make_user(role=Role.ADMIN)
    # Even a caller without the route's rank check (a script, a future page) cannot do it.
    actor = User(id=0, role=Role.ADMIN)
    with pytest.raises(InvalidAccountData):
        set_blocked(db_session, None, only, True, by=actor, ip="")
    with pytest.raises(InvalidAccountData):
        change_role(db_session, only, Role.USER, by=actor, ip="")
    second = make_user(role=Role.ADMIN)
    change_role(db_session, second, Role.MODERATOR, by=only, ip="")
    assert second.role == Role.MODERATOR


def test_an_admin_grants_at_most_their_own_role(client, login_as, make_user, db_session):
    login_as(Role.ADMIN)
    target = make_user()
    token = csrf_token(client, "/admin/users")
    assert (
        client.post(
            f"/admin/users/{target.id}/role", data={"role": "admin", "csrf_token": token}
        ).status_code
        == 302
    )
    db_session.expire_all()
    assert db_session.get(User, target.id).role == Role.ADMIN


def _hide(client, character_id: int, token: str, hidden: str = "1"):
    return client.post(
        f"/moderation/characters/{character_id}/hide",
        data={"hidden": hidden, "reason": "нарушает правила", "csrf_token": token},
    )


def _manager_save(client, character: Character, state: str):
    token = csrf_token(client, f"/manage/characters/{character.id}")
    return client.post(
        f"/manage/characters/{character.id}",
        data={
            "name": character.name,
            "description": character.description,
            "system_prompt": character.system_prompt,
            "temperature": "0.8",
            "max_length": "1000",
            "state": state,
            "csrf_token": token,
        },
    )


def test_a_hidden_character_stays_hidden_after_a_managers_save(
    app, client, login_as, make_user, db_session, settings
):
    from tests.conftest import sign_in
    from tests.factories import character as make_character

    character = make_character(db_session)
    login_as(Role.MODERATOR)
    assert (
        _hide(client, character.id, csrf_token(client, "/moderation/characters")).status_code == 302
    )
    manager_client = app.test_client()
    sign_in(manager_client, db_session, settings, make_user(role=Role.MANAGER))
    response = _manager_save(manager_client, character, "published")
    assert response.status_code == 422
    assert "только модератор" in response.text
    db_session.expire_all()
    assert db_session.get(Character, character.id).state == CharacterState.HIDDEN
    # Saving it hidden (editing its text) is fine; restoring a published version keeps it hidden.
    assert _manager_save(manager_client, character, "hidden").status_code == 302
    token = csrf_token(manager_client, f"/manage/characters/{character.id}/versions")
    manager_client.post(
        f"/manage/characters/{character.id}/versions/1/restore", data={"csrf_token": token}
    )
    db_session.expire_all()
    assert db_session.get(Character, character.id).state == CharacterState.HIDDEN


def test_a_moderator_cannot_show_what_an_admin_hid(
    app, client, login_as, make_user, db_session, settings
):
    from tests.conftest import sign_in
    from tests.factories import character as make_character

    character = make_character(db_session)
    login_as(Role.ADMIN)
    _hide(client, character.id, csrf_token(client, "/moderation/characters"))
    moderator = app.test_client()
    sign_in(moderator, db_session, settings, make_user(role=Role.MODERATOR))
    token = csrf_token(moderator, "/moderation/characters")
    assert _hide(moderator, character.id, token, hidden="0").status_code == 403
    db_session.expire_all()
    assert db_session.get(Character, character.id).state == CharacterState.HIDDEN
    assert _hide(client, character.id, token, hidden="0").status_code in (302, 400)


def test_a_report_an_admin_decided_is_not_reopened_by_a_moderator(
    app, client, login_as, make_user, db_session, settings
):
    from tests.conftest import sign_in
    from tests.factories import character as make_character
    from tests.moderation.test_moderation import ai_message
    from webapp.moderation.models import MessageReport, ReportState

    person = make_user()
    message = ai_message(db_session, person, make_character(db_session))
    report = factories.report(db_session, message, person.id)
    db_session.commit()
    login_as(Role.ADMIN)
    token = csrf_token(client, "/moderation/reports")
    decide = {"csrf_token": token, "state": "actioned", "note": "удалено"}
    assert client.post(f"/moderation/reports/{report.id}", data=decide).status_code == 302
    moderator = app.test_client()
    sign_in(moderator, db_session, settings, make_user(role=Role.MODERATOR))
    undo = {"csrf_token": csrf_token(moderator, "/moderation/reports"), "state": "dismissed"}
    assert moderator.post(f"/moderation/reports/{report.id}", data=undo).status_code == 403
    db_session.expire_all()
    assert db_session.get(MessageReport, report.id).state == ReportState.ACTIONED
