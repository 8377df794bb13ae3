"""The dependencies console handlers ask for by name: the app's (``api/app.py``) and the
console router's own (``console/routes.py``)."""

from __future__ import annotations

from typing import Any

from litestar.di import NamedDependency
from litestar.params import SkipValidation

from console.session import Sessions
from projections.views import Views
from service.settings import Settings
from store.application import CallLog

SettingsDep = NamedDependency[SkipValidation[Settings]]
ViewsDep = NamedDependency[SkipValidation[Views]]
CallLogDep = NamedDependency[SkipValidation[CallLog]]
SessionsDep = NamedDependency[SkipValidation[Sessions]]
# The app's metrics registry (``api.observability.Observability``): its writer histogram.
ObservabilityDep = NamedDependency[SkipValidation[Any]]
