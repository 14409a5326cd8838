"""The web pages for people: one blueprint per area (auth, home, admin, questionnaires, printing, scans).

The app that serves them is built by :func:`forms_service.app.create_app`; the
views are thin adapters over ``forms_service.services``.

Must never: show a traceback to a user, or log answer text.
"""
