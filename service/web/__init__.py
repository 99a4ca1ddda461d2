"""Server-rendered pages for people: sign-in, queues, tasks, cases, notifications.

Japanese by default, English on request: the language is the `lang` cookie (set by the switch in the page
header, see app.js), else the user's stored preference (`users.locale`), else TEJUN_DEFAULT_LOCALE. Texts
come from the Flask-Babel catalogs in `service/translations` (msgids in English); dates are shown in JST.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import Babel

from .locale import LANG_COOKIE, LANGUAGES, select_locale  # noqa: F401  (the package's names)


def register(app: Flask) -> None:
    # the page routes live on the one `web` blueprint, in modules by what they show
    from . import case_actions, cases, consultations, designations, erad, notifications, pages, tasks  # noqa: F401
    from .blueprint import bp
    from .templating import install

    Babel(app, locale_selector=select_locale, default_timezone="Asia/Tokyo")
    install(app)
    # the application's own /static route (registered first, so it wins) serves the pages' files
    app.static_folder = bp.static_folder
    app.register_blueprint(bp)
    from . import screening_lists  # noqa: F401  (the open-hits list and list imports, on screening_pages)
    from .screening_pages import bp as screening_pages

    app.register_blueprint(screening_pages)
    from .designer import bp as designer_pages  # process designers: model store, editors, migration

    app.register_blueprint(designer_pages)
    from .audit import bp as audit_pages  # auditors: history, point-in-time view, integrity, exports

    app.register_blueprint(audit_pages)
    from .admin import bp as admin_pages  # system administrators: organizations, users, role grants

    app.register_blueprint(admin_pages)
    from .dashboards import bp as dashboard_pages  # dashboards and CSV / Excel exports (issue 19)

    app.register_blueprint(dashboard_pages)
    from .sso import init_sso

    init_sso(app)
