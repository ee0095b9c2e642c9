"""Every staff page fits a phone (360 px) and a laptop (1280 px): nothing sticks out of the
viewport sideways (a wide table may scroll inside its own frame). Screenshots are kept."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import device

PAGES = [
    "/admin/",
    "/admin/users",
    "/admin/logs",
    "/admin/settings",
    "/admin/thresholds",
    "/admin/reports/",
    "/admin/analysis",
    "/admin/backups/",
    "/admin/nodes",
    "/maintenance/",
    "/moderation/users",
    "/moderation/characters",
    "/moderation/reports",
    "/manage/characters",
    "/manage/characters/new",
    "/manage/characters/import",
]
# Elements sticking out past the right edge, unless inside a frame that scrolls by itself.
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const scrolls = (el) => {
    for (let p = el.parentElement; p; p = p.parentElement) {
      const style = getComputedStyle(p);
      if (['auto', 'scroll'].includes(style.overflowX) && p.scrollWidth > p.clientWidth - 1
          && p !== document.documentElement && p !== document.body) return true;
    }
    return false;
  };
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect();
    if (box.width && box.right > width + 1 && !scrolls(el)) {
      const kind = typeof el.className === 'string' && el.className ? '.' + el.className : '';
      out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + kind.split(' ')[0] +
               ' right=' + Math.round(box.right));
    }
  }
  // On a laptop a table must fit whole: its last column (the actions) in sight.
  const clipped = width >= 1000 ? [...document.querySelectorAll('.table-wrap')]
    .filter((w) => w.scrollWidth > w.clientWidth + 1).map((w) => 'table-wrap#' + w.id) : [];
  return {page: document.documentElement.scrollWidth, width, out: [...out.slice(0, 8), ...clipped]};
}"""


@pytest.fixture(scope="module")
def seeded(server):
    """Rows in every table, with the long names real people have."""
    from datetime import timedelta

    from config.settings import load_settings
    from tests import factories
    from webapp.chat.models import Message
    from webapp.db import utcnow
    from webapp.maintenance.models import MaintenanceWindow
    from webapp.pii import PiiCipher, use_cipher

    pii = PiiCipher(load_settings(server.env).pii_encryption_key)
    use_cipher(pii)  # the server's key: the columns that encrypt themselves use it
    with server.sessions() as session:
        people = [
            factories.user(
                session,
                pii,
                email=f"konstantin.konstantinopolsky.{n}@very-long-domain-name.example.ru",
                display_name=f"Константин Константинопольский {n}",
            )
            for n in range(3)
        ]
        character = factories.character(
            session, name="Капитан Немо Длинноимённый", description="Подводник. " * 20
        )
        dialog = factories.dialog(session, people[0].id, character.id, 2, "Реплика {n}. " * 20,
                                  roles=("user", "assistant"))  # fmt: skip
        message = session.query(Message).filter_by(dialog_id=dialog.id, role="assistant").first()
        factories.report(session, message, people[0].id, "Очень длинная причина жалобы " * 5)
        now = utcnow()
        window = MaintenanceWindow(
            kind="planned",
            state="scheduled",
            starts_at=now + timedelta(days=1),
            ends_at=now + timedelta(days=1, hours=2),
            reason="Обновление драйверов видеокарты и модели " * 3,
        )
        session.add(window)
        session.commit()


@pytest.mark.parametrize("width", [360, 1280])
def test_staff_pages_fit_the_screen(browser, server, seeded, tmp_path, width):
    page = device(browser, server, width=width, height=800)
    problems = {}
    for path in PAGES:
        page.goto(server.url + path)
        page.wait_for_load_state("networkidle")
        found = page.evaluate(OVERFLOW)
        name = path.strip("/").replace("/", "_") or "root"
        page.screenshot(path=str(tmp_path / f"{name}-{width}.png"), full_page=True)
        if found["page"] > found["width"] + 1 or found["out"]:
            problems[path] = found
    page.context.close()
    assert problems == {}
