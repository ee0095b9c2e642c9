"""The mehhost chat web application: create_app() wires settings, extensions and domains."""

from __future__ import annotations

import logging
from importlib import import_module

from flask import Flask

from config.settings import Settings, load_settings
from webapp.version import __version__  # noqa: F401 - the package names its release

# Each domain's background tasks: registered with the app's queue, run by the consumer.
TASK_MODULES = (
    "webapp.analysis.tasks",
    "webapp.auth.tasks",
    "webapp.maintenance.tasks",
    "webapp.monitoring.tasks",
    "webapp.notify.tasks",
)


def create_app(settings: Settings | None = None) -> Flask:
    """Build the Flask app from Settings; raise ConfigError naming a bad setting."""
    from webapp import cli, errors, security
    from webapp import siteconfig as site_config
    from webapp import tasks as background
    from webapp.bus import make_bus
    from webapp.extensions import babel, csrf, db, limiter, login_manager, sock
    from webapp.forms import IdConverter, apply_upload_limit
    from webapp.i18n import select_locale, select_timezone
    from webapp.maintenance import banner as maintenance_banner
    from webapp.monitoring import logs, requestlog
    from webapp.monitoring.metrics import instrument
    from webapp.pii import PiiCipher, use_cipher
    from webapp.templating import register_template_helpers
    from webapp.websocket import install as install_websocket_server

    settings = settings or load_settings()
    app = Flask(__name__, instance_path=str(settings.instance_path))
    app.url_map.converters["int"] = IdConverter
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_content_length,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.production,
        WTF_CSRF_TIME_LIMIT=None,  # the token is bound to the session; a long-open tab stays usable
        RATELIMIT_STORAGE_URI=settings.redis_url or "memory://",
        # A Redis that hangs must not hang every page: limits give up after a second and let
        # the request through (pages that need Redis then answer 503 themselves).
        RATELIMIT_STORAGE_OPTIONS=(
            {"socket_timeout": 1, "socket_connect_timeout": 1} if settings.redis_url else {}
        ),
        RATELIMIT_SWALLOW_ERRORS=True,
        RATELIMIT_DEFAULT=settings.ratelimit_default,
        RATELIMIT_HEADERS_ENABLED=True,
        RATELIMIT_ENABLED=settings.ratelimit_enabled,
        BABEL_DEFAULT_LOCALE="ru",
        BABEL_DEFAULT_TIMEZONE="Europe/Moscow",
        SEND_FILE_MAX_AGE_DEFAULT=365 * 24 * 3600,  # static URLs carry a content hash
        TESTING=settings.env == "test",
    )
    logging.basicConfig(level=settings.log_level)

    db.init(settings)
    db.check()
    app.extensions["mehhost.settings"] = settings
    app.extensions["mehhost.bus"] = make_bus(settings.redis_url, settings.redis_prefix)
    app.extensions["mehhost.pii"] = PiiCipher(settings.pii_encryption_key)
    use_cipher(app.extensions["mehhost.pii"])  # for the columns that encrypt themselves
    app.extensions["mehhost.base_settings"] = settings
    site_config.refresh(app, force=True)
    app.before_request(lambda: site_config.refresh(app))

    app.before_request(apply_upload_limit)  # before CSRF protection reads the body
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    sock.init_app(app)
    install_websocket_server()
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    for module in TASK_MODULES:
        import_module(module)
    background.init_app(app, settings)
    _register_blueprints(app)
    security.init_app(app, settings)
    errors.init_app(app)
    instrument(app)
    requestlog.install(app, settings.request_log)  # after instrument: runs before its pop
    logs.install_security_file(settings.security_log)
    register_template_helpers(app)
    maintenance_banner.init_app(app)
    cli.init_app(app)
    app.teardown_appcontext(lambda _exc: db.end_session())
    return app


def _register_blueprints(app: Flask) -> None:
    from webapp.accounts.privacy import add_eraser, add_exporter
    from webapp.accounts.views import bp as accounts
    from webapp.admin.configure import bp as admin_settings
    from webapp.admin.panel import bp as admin_panel
    from webapp.admin.reports import bp as admin_reports
    from webapp.admin.views import bp as admin
    from webapp.analysis.rounds import AnalysisRound, queue_incident_reports
    from webapp.auth import cookies as auth_cookies
    from webapp.auth.views import bp as auth
    from webapp.characters.manage import bp as manage
    from webapp.characters.views import bp as characters
    from webapp.chat.jobs import ChatReplies
    from webapp.chat.message_views import bp as chat_messages
    from webapp.chat.persona_views import bp as personas
    from webapp.chat.preview import PreviewJobs
    from webapp.chat.privacy import erase_personas, export_dialogs, export_personas
    from webapp.chat.socket import bp as chat_socket
    from webapp.chat.summaries import KIND as SUMMARY_KIND
    from webapp.chat.summaries import WrittenSummaries
    from webapp.chat.views import bp as chat
    from webapp.inference.runtime import register_job_handler
    from webapp.inference.views import bp as inference
    from webapp.inference.watch import link_round
    from webapp.maintenance.views import bp as maintenance
    from webapp.maintenance.views import windows as maintenance_windows
    from webapp.moderation.privacy import export_reports
    from webapp.moderation.views import bp as moderation
    from webapp.monitoring.collector import add_round, ensure_collector
    from webapp.monitoring.views import bp as monitoring

    for blueprint in (
        accounts,
        admin,
        admin_panel,
        admin_reports,
        admin_settings,
        auth,
        characters,
        chat,
        chat_messages,
        chat_socket,
        inference,
        maintenance,
        maintenance_windows,
        manage,
        moderation,
        monitoring,
        personas,
    ):
        app.register_blueprint(blueprint)
    auth_cookies.init_app(app)
    # The collector measures; analysis reads the measurements in each of its rounds.
    add_round(app, AnalysisRound(app), after_change=queue_incident_reports)
    add_round(app, link_round)  # the home PC or its link gone: a high alert
    if app.extensions["mehhost.settings"].monitor_collect:
        app.before_request(lambda: ensure_collector(app))
    register_job_handler(app, "chat_reply", ChatReplies(app))
    register_job_handler(app, "preview", PreviewJobs(app.extensions["mehhost.bus"]))
    register_job_handler(app, SUMMARY_KIND, WrittenSummaries(app))
    # A person's data export: each domain hands over what it holds about them.
    add_exporter(app, "dialogs", export_dialogs)
    add_exporter(app, "personas", export_personas)
    add_eraser(app, erase_personas)
    add_exporter(app, "reports", export_reports)
