"""An import-linter contract type, `acyclic`: no import cycle among any modules of a package."""

from __future__ import annotations

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, fields, output


class AcyclicContract(Contract):
    """No module imports, directly or through others, a module that imports it.

    import-linter's own `acyclic_siblings` compares the children of each package only: a module
    that imports its own package, whose `__init__` imports it back, passes there.
    """

    type_name = "acyclic"

    containers = fields.ListField(subfield=fields.ModuleField())

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        cycles: list[list[str]] = []
        reported: set[tuple[str, str]] = set()  # imports already shown in some cycle
        for container in self.containers:
            modules = {container.name} | graph.find_descendants(container.name)
            for importer in sorted(modules):
                for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                    if (importer, imported) in reported:
                        continue
                    back = graph.find_shortest_chain(importer=imported, imported=importer)
                    if back:
                        cycle = [importer, *back]
                        cycles.append(cycle)
                        reported.update(zip(cycle, cycle[1:], strict=False))
        return ContractCheck(kept=not cycles, metadata={"cycles": cycles})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for cycle in check.metadata["cycles"]:
            output.print_error(" -> ".join(cycle))
            output.new_line()
