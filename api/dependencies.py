"""The typed dependencies handlers ask for by name (``api/app.py`` provides them).

Each is marked ``SkipValidation``: they are the service's own objects, built at start,
not values parsed from a request, so there is nothing to check on every request.
"""

from __future__ import annotations

from litestar.di import NamedDependency
from litestar.params import SkipValidation

from projections.views import Views
from service.bootstrap import Services
from service.settings import Settings
from store.application import CallLog

ServicesDep = NamedDependency[SkipValidation[Services]]
SettingsDep = NamedDependency[SkipValidation[Settings]]
ViewsDep = NamedDependency[SkipValidation[Views]]
CallLogDep = NamedDependency[SkipValidation[CallLog]]
