"""The demo: a synthetic nation run through the real services.

The population is SYNTHETIC. Every firm, integrator, university, person, consortium and pool
is generated from a seed by `population.build_nation` (the same size and seed give the same
nation); names, registration numbers, addresses and emails are made up (emails end in
``.example``), and the distributions are assumptions informed by public Korean figures
(docs/demo-population.md). `load.load_nation` registers such a nation through the services.
"""

from ccx.demo.load import load_nation
from ccx.demo.population import DEMO_START_ON, build_nation
from ccx.demo.types import (
    ConsortiumPlan,
    FirmPlan,
    IntegratorPlan,
    Loaded,
    Nation,
    NationSize,
    PersonPlan,
    Relation,
    Segment,
    Standing,
    WorkloadProfile,
)

__all__ = [
    "DEMO_START_ON",
    "ConsortiumPlan",
    "FirmPlan",
    "IntegratorPlan",
    "Loaded",
    "Nation",
    "NationSize",
    "PersonPlan",
    "Relation",
    "Segment",
    "Standing",
    "WorkloadProfile",
    "build_nation",
    "load_nation",
]
