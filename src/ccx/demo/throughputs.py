"""Throughput of the demo's workload classes on each accelerator type, relative to an H100.

Derived from Gavel's measured throughputs: stanford-futuredata/gavel, commit
c4fa40097339e9608ab71fd64c8bdea96a5e4a4c, file ``scheduler/simulation_throughputs.json``
(MIT licence; Narayanan et al., "Heterogeneity-Aware Cluster Scheduling Policies for Deep
Learning Workloads", OSDI 2020). For each model type on one GPU, run alone (the ``"null"``
entry, steps per second), Gavel's three generations stand for today's: K80 → A100,
P100 → H100 (and H200, whose compute is an H100's), V100 → B200. Each model's speeds are
divided by its P100 speed, so the H100 is 1000 thousandths for every model:

    a100_milli = round(1000 * k80 / p100),  b200_milli = round(1000 * v100 / p100)

The relative speeds, not the absolute ones, carry over: a model that gained little from one
generation to the next (Gavel's recommendation models are slower on the V100 than on the
P100) gains little here too, so at the published rates (A100 0.25, B200 2.25 credits per
hour) some models do more work per credit on an A100 than on an H100 or a B200.

Gavel measured no inference and no NPU. The two inference classes take the GPU speeds of
Gavel's language model (LM, batch size 80) and Transformer (batch size 128), and the FuriosaAI
RNGD its vendor-measured LLM throughput relative to an H100 SXM (Llama 3.1 8B on one card:
3,935 / 13,222 tokens per second = 298 thousandths; Llama 3.1 70B on eight: 957 / 2,064 =
464; ../shared/reference/domain-korea.md §5). Only inference runs on RNGD.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ccx.exchange.types import RequestOption

H100_MILLI = 1000
"""Every workload's speed on an H100 (and an H200): the unit of the table."""


class WorkloadKind(enum.StrEnum):
    TRAINING = "training"
    FINE_TUNING = "fine_tuning"
    INFERENCE = "inference"


@dataclass(frozen=True, slots=True)
class ModelSpeeds:
    """One workload class: its Gavel source and its speeds in thousandths of an H100."""

    workload_class: str
    gavel_job_type: str
    a100_milli: int
    b200_milli: int
    rngd_milli: int | None = None  # inference classes only

    def options(self) -> tuple[RequestOption, ...]:
        """The accelerator types this class can run on, with its throughput on each."""
        options = [
            RequestOption("B200", self.b200_milli),
            RequestOption("H200", H100_MILLI),
            RequestOption("H100", H100_MILLI),
            RequestOption("A100", self.a100_milli),
        ]
        if self.rngd_milli is not None:
            options.append(RequestOption("RNGD", self.rngd_milli))
        return tuple(options)


TRAINABLE = (
    ModelSpeeds("resnet18-bs16", "ResNet-18 (batch size 16)", 134, 902),
    ModelSpeeds("resnet18-bs32", "ResNet-18 (batch size 32)", 200, 836),
    ModelSpeeds("resnet18-bs64", "ResNet-18 (batch size 64)", 316, 1080),
    ModelSpeeds("resnet18-bs128", "ResNet-18 (batch size 128)", 155, 1541),
    ModelSpeeds("resnet18-bs256", "ResNet-18 (batch size 256)", 115, 1334),
    ModelSpeeds("resnet50-bs16", "ResNet-50 (batch size 16)", 254, 1259),
    ModelSpeeds("resnet50-bs32", "ResNet-50 (batch size 32)", 253, 1593),
    ModelSpeeds("resnet50-bs64", "ResNet-50 (batch size 64)", 236, 1678),
    ModelSpeeds("resnet50-bs128", "ResNet-50 (batch size 128)", 219, 1576),
    ModelSpeeds("transformer-bs16", "Transformer (batch size 16)", 573, 1160),
    ModelSpeeds("transformer-bs32", "Transformer (batch size 32)", 446, 1350),
    ModelSpeeds("transformer-bs64", "Transformer (batch size 64)", 344, 1692),
    ModelSpeeds("transformer-bs128", "Transformer (batch size 128)", 319, 1772),
    ModelSpeeds("transformer-bs256", "Transformer (batch size 256)", 273, 951),
    ModelSpeeds("a3c", "A3C", 605, 1263),
    ModelSpeeds("lm-bs5", "LM (batch size 5)", 281, 1203),
    ModelSpeeds("lm-bs10", "LM (batch size 10)", 309, 1059),
    ModelSpeeds("lm-bs20", "LM (batch size 20)", 295, 1113),
    ModelSpeeds("lm-bs40", "LM (batch size 40)", 322, 1265),
    ModelSpeeds("lm-bs80", "LM (batch size 80)", 286, 1335),
    ModelSpeeds("recommendation-bs512", "Recommendation (batch size 512)", 672, 477),
    ModelSpeeds("recommendation-bs1024", "Recommendation (batch size 1024)", 652, 432),
    ModelSpeeds("recommendation-bs2048", "Recommendation (batch size 2048)", 629, 450),
    ModelSpeeds("recommendation-bs4096", "Recommendation (batch size 4096)", 596, 439),
    ModelSpeeds("recommendation-bs8192", "Recommendation (batch size 8192)", 486, 512),
    ModelSpeeds("cyclegan", "CycleGAN", 210, 1842),
)
"""Training and fine-tuning classes: one per Gavel model type on one GPU."""

SERVING = (
    ModelSpeeds("llm-serve-8b", "LM (batch size 80)", 286, 1335, rngd_milli=298),
    ModelSpeeds("llm-serve-70b", "Transformer (batch size 128)", 319, 1772, rngd_milli=464),
)
"""Inference classes: Gavel's GPU speeds of a similar model, FuriosaAI's RNGD measurement."""
