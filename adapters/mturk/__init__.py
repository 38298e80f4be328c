"""Amazon Mechanical Turk as a labelwire workforce (API 2017-01-17; the service closed on 2026-09-30).

Entry point: `mturk = "labelwire.adapters.mturk:MTurkWorkforce"`.
"""

from labelwire.adapters.mturk.notifications import Event, SqsNotifications, hits_to_poll, parse_body
from labelwire.adapters.mturk.settings import MTurkSettings, parse_settings
from labelwire.adapters.mturk.workforce import MTurkWorkforce, cost_summary

__all__ = [
    "Event",
    "MTurkSettings",
    "MTurkWorkforce",
    "SqsNotifications",
    "cost_summary",
    "hits_to_poll",
    "parse_body",
    "parse_settings",
]
