"""A stateful property test of the call log on a real SQLite file.

Hypothesis delivers a call's callbacks in any order, redelivers old ones, injects
callbacks with arbitrary (also unknown) statuses, and reopens the store, checking after
every step that the state machine's rules hold.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from domain.callbacks import Callback, CallbackKind
from domain.status import TERMINAL, TRANSITIONS, CallStatus, Verdict
from store.application import CallLog, open_call_log
from tests.factories import CallSpec, cb
from tests.strategies import calls

RAW_STATUSES = st.sampled_from([*(s.value for s in CallStatus), "", "queued", "IN-PROGRESS"])


class CallLogMachine(RuleBasedStateMachine):
    """Model: the set of distinct callbacks delivered, and the status history."""

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="calltrail-machine-"))
        self.url = f"sqlite:///{self.folder / 'events.db'}"
        self.app: CallLog = open_call_log(self.url)
        self.spec: CallSpec | None = None
        self.delivered: dict[str, Callback] = {}
        self.history: list[CallStatus | None] = [None]

    @initialize(spec=calls())
    def choose_call(self, spec: CallSpec) -> None:
        self.spec = spec

    def _deliver(self, callback: Callback) -> Verdict:
        verdict = self.app.record(callback).verdict
        assert (verdict is Verdict.DUPLICATE) == (callback.fingerprint in self.delivered)
        self.delivered[callback.fingerprint] = callback
        self.history.append(self.app.call(callback.call_uuid).status)
        return verdict

    @rule(data=st.data())
    def deliver(self, data: st.DataObject) -> None:
        assert self.spec is not None
        self._deliver(data.draw(st.sampled_from(self.spec.callbacks)))

    @precondition(lambda self: bool(self.delivered))
    @rule(data=st.data())
    def redeliver(self, data: st.DataObject) -> None:
        old = data.draw(st.sampled_from(sorted(self.delivered.values(), key=repr)))
        assert self._deliver(old) is Verdict.DUPLICATE

    @rule(raw=RAW_STATUSES, kind=st.sampled_from(list(CallbackKind)), n=st.integers(0, 3))
    def deliver_arbitrary(self, raw: str, kind: CallbackKind, n: int) -> None:
        assert self.spec is not None
        params = {"CallUUID": self.spec.call_uuid, "CallStatus": raw, "Note": str(n)}
        self._deliver(cb(kind, params))

    @precondition(lambda self: bool(self.delivered))
    @rule()
    def reopen(self) -> None:
        assert self.spec is not None
        live = self.app.call(self.spec.call_uuid).summary()
        self.app = open_call_log(self.url)
        assert self.app.call(self.spec.call_uuid).summary() == live

    @invariant()
    def terminal_statuses_never_change(self) -> None:
        terminal = [s for s in self.history if s in TERMINAL]
        assert len(set(terminal)) <= 1
        if terminal:
            assert self.history[-1] == terminal[0]

    @invariant()
    def every_status_step_is_in_the_table(self) -> None:
        for before, after in zip(self.history, self.history[1:], strict=False):
            assert after == before or after in TRANSITIONS[before]

    @invariant()
    def one_stored_event_per_distinct_callback(self) -> None:
        stored = self.app.recorder.select_notifications(start=None, limit=10_000)
        expected = len(self.delivered) + (1 if self.delivered else 0)
        assert len(stored) == expected

    def teardown(self) -> None:
        self.app.close()
        shutil.rmtree(self.folder, ignore_errors=True)


CallLogMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=20, deadline=None)
TestCallLogMachine = CallLogMachine.TestCase
