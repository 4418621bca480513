"""What the portal keeps on its application and on each request, named in one place."""

from __future__ import annotations

import asyncio

from aiohttp import web

from connec.clock import Clock
from connec.db import Database
from connec.settings import Settings
from connec.synapse_admin import SynapseAdmin
from portal.sign_ups import SignUpQueue
from portal.signin_limits import FailedSignIns

SETTINGS = web.AppKey("settings", Settings)
DATABASE = web.AppKey("database", Database)
SYNAPSE = web.AppKey("synapse", SynapseAdmin)
"""Synapse's admin API, with connec's admin token and the registration secret."""
CLOCK = web.AppKey("clock", Clock)
SIGN_INS = web.AppKey("sign_ins", FailedSignIns)
SIGN_UPS = web.AppKey("sign_ups", SignUpQueue)
ACCOUNTS = web.AppKey("accounts", asyncio.Lock)
"""Held while a user name is chosen and its account made, so two never pick the same."""

LANG = web.RequestKey("lang", str)
VIEWER = web.RequestKey("viewer", object)

LANG_COOKIE = "connec_lang"
SESSION_MAX_AGE = 8 * 3600  # a working day
SYNAPSE_TIMEOUT = 10.0
"""Seconds the portal waits for Synapse before telling the person it is unreachable."""
