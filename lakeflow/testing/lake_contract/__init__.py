"""The Lake contract: one test suite every :class:`lakeflow.ports.Lake` adapter must pass.

Effect (tests). ``LocalLake`` runs it, the lakeFS adapter will, and so can your own lake.
Requires ``pytest`` and ``hypothesis`` (dev dependencies). Use it from a test module::

    import itertools
    import pytest
    from lakeflow.adapters.local import LocalLake
    from lakeflow.testing.lake_contract import LakeContract, LakeFactory

    @pytest.fixture
    def lake_factory(tmp_path) -> LakeFactory:
        numbers = itertools.count()
        return lambda: LocalLake(tmp_path, f"repo-{next(numbers):05d}")

    class TestMyLake(LakeContract):
        '''The Lake contract, run against LocalLake.'''

``lake_factory`` returns a callable; **each call returns a handle bound to a new repository that
does not exist yet** (the suite creates it, with default branch ``main``, when a test needs it;
tests of a missing repository use it as is). The stateful test calls the factory once per
example, so make it cheap. The multi-process tests re-open the lake in child processes with
``lakeflow.lakes.open_lake(lake.url, repository=lake.repository)``; set
``LakeContract.multiprocess = False`` for a lake that cannot be opened that way.

The hypothesis state machine (:class:`LakeStateMachine`) drives random sequences of
create/delete branch, put/delete object, commit, merge, revert and discard against a small
in-memory model of lakeFS (branch heads, trees as dicts, merge base by ancestry) and checks
every read. Run it alone with ``TestLake = lake_state_machine(factory).TestCase``.

Modules: ``assertions`` (``expect_success``/``expect_failure``), ``model`` (lakeFS as dicts),
``machine`` (the state machine), ``workers`` (child processes), ``objects``, ``history`` and
``tables`` (the tests, by topic), ``base`` (what every test class shares).
"""

from lakeflow.testing.lake_contract.assertions import LakeFactory, expect_failure, expect_success
from lakeflow.testing.lake_contract.history import HistoryContract
from lakeflow.testing.lake_contract.machine import LakeStateMachine, lake_state_machine
from lakeflow.testing.lake_contract.model import LakeModel
from lakeflow.testing.lake_contract.objects import ObjectContract
from lakeflow.testing.lake_contract.tables import TableContract

__all__ = [
    "HistoryContract",
    "LakeContract",
    "LakeFactory",
    "LakeModel",
    "LakeStateMachine",
    "ObjectContract",
    "TableContract",
    "expect_failure",
    "expect_success",
    "lake_state_machine",
]


class LakeContract(ObjectContract, HistoryContract, TableContract):
    """Tests every Lake must pass. Subclass it and provide a ``lake_factory`` fixture."""
