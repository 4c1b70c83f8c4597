"""The layering contracts in pyproject.toml hold, and each one fails on the import it forbids."""

from __future__ import annotations

import tomllib

import grimp
import pytest
from importlinter import configuration
from importlinter.application import use_cases
from importlinter.application.app_config import settings

from tests.live import ROOT

PYPROJECT = ROOT / "pyproject.toml"
CONTRACT_IDS = {
    c["name"]: c["id"]
    for c in tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]["contracts"]
}

# Short names for the contracts' ids.
FORBIDDEN, SURFACE, LAYERS = "identity-not-social", "identity-surface", "layers"
CYCLE, PACKAGE_CYCLE = "acyclic", "acyclic-packages"


class AddedImport:
    """import-linter's graph builder, plus one import the code does not have."""

    def __init__(self, importer: str | None = None, imported: str | None = None):
        self.importer, self.imported = importer, imported

    def build(self, root_package_names, cache_dir, **options) -> grimp.ImportGraph:
        graph = grimp.build_graph(*root_package_names, cache_dir=None, **options)
        if self.importer:
            graph.add_import(importer=self.importer, imported=self.imported, line_number=1,
                             line_contents=f"import {self.imported}")  # fmt: skip
        return graph


def broken_contracts(builder: AddedImport) -> set[str]:
    """Run `lint-imports`' own checks with pyproject.toml; return the ids of broken contracts."""
    saved = settings.copy()
    configuration.configure()
    settings.configure(GRAPH_BUILDER=builder)
    use_cases._register_built_in_contract_types()  # what lint_imports() does first
    try:
        report = use_cases.create_report(use_cases.read_user_options(str(PYPROJECT)))
    finally:
        settings._config = saved._config
    assert not report.could_not_run
    return {
        CONTRACT_IDS[c.name] for c, check in report.get_contracts_and_checks() if not check.kept
    }


def test_the_code_keeps_every_contract():
    assert set(CONTRACT_IDS.values()) == {FORBIDDEN, SURFACE, LAYERS, CYCLE, PACKAGE_CYCLE}
    assert broken_contracts(AddedImport()) == set()


@pytest.mark.parametrize(
    ("importer", "imported", "breaks"),
    [
        # identity never reaches into social (which imports identity: the packages form a cycle).
        (
            "microblog.identity.views",
            "microblog.social.queries",
            {FORBIDDEN, LAYERS, PACKAGE_CYCLE},
        ),
        ("microblog.identity.views", "microblog.social", {FORBIDDEN, LAYERS, PACKAGE_CYCLE, CYCLE}),
        # Outside identity, only `microblog.identity` itself.
        ("microblog.social.views", "microblog.identity.accounts", {SURFACE}),
        ("microblog.cli", "microblog.identity.providers", {SURFACE}),
        ("microblog.errors", "microblog.identity.sessions", {SURFACE, LAYERS}),
        # Shared modules never import a subsystem, nor the kit.
        # (identity imports config: this would be identity importing social too.)
        ("microblog.config", "microblog.social.text", {LAYERS, FORBIDDEN, PACKAGE_CYCLE}),
        ("microblog.models", "microblog.identity", {LAYERS, CYCLE, PACKAGE_CYCLE}),
        ("microblog.extensions", "microblog.testing", {LAYERS, PACKAGE_CYCLE}),
        ("microblog.social.text", "microblog.testing.client", {LAYERS}),
        # Cycles: between siblings, through a package's own __init__, through the app factory.
        ("microblog.identity.providers", "microblog.identity.client", {CYCLE, PACKAGE_CYCLE}),
        ("microblog.identity.views", "microblog.identity", {CYCLE}),
        ("microblog.testing.client", "microblog.testing", {CYCLE}),
        ("microblog.social.text", "microblog", {CYCLE, LAYERS}),
    ],
)
def test_a_forbidden_import_breaks_its_contract(importer, imported, breaks):
    assert broken_contracts(AddedImport(importer, imported)) == breaks
