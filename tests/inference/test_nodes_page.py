"""The admins' node page: the nodes linked now, and keys revoked only after asking."""

from __future__ import annotations

from sqlalchemy import select

from tests.conftest import csrf_token
from webapp.db import utcnow
from webapp.inference import status
from webapp.inference.models import NodeKey


def test_the_linked_nodes_are_shown_with_their_model_and_speed(client, login_as, db_session):
    login_as("admin")
    assert "Ни один узел не подключён" in client.get("/admin/nodes").get_data(as_text=True)
    node = {"id": "web-1:pc-1", "node_id": "pc-1", "model": "qwen3-8b-q4_k_m.gguf",
            "context_size": 8192, "capacity": 2, "running": 1, "tokens_per_s": 31.4}  # fmt: skip
    status.beat(db_session, "web-1", [node], utcnow())
    db_session.commit()
    page = client.get("/admin/nodes").get_data(as_text=True)
    assert "pc-1" in page and "qwen3-8b-q4_k_m.gguf" in page and "31,4 ток./с" in page


def test_revoking_a_key_asks_first(client, login_as, db_session):
    login_as("admin")
    token = csrf_token(client, "/admin/nodes")
    client.post("/admin/nodes/keys", data={"csrf_token": token, "name": "домашний ПК"})
    key = db_session.scalar(select(NodeKey))
    confirm = client.get(f"/admin/nodes/keys/{key.id}/revoke").get_data(as_text=True)
    assert "Отозвать ключ «домашний ПК»?" in confirm and "отключится сразу" in confirm
    db_session.expire_all()
    assert db_session.get(NodeKey, key.id).active  # looking revokes nothing
    client.post(f"/admin/nodes/keys/{key.id}/revoke", data={"csrf_token": token})
    db_session.expire_all()
    assert not db_session.get(NodeKey, key.id).active
