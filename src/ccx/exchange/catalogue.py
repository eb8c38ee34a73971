"""The shipped catalogue: accelerator types with their published figures and the default
exchange rates, in force from 2025-01-01 (docs/exchange.md gives the sources).

1 credit = 1 H100-hour. The rates follow Korea's 2025 GPU support (1 H100 = 1 H200 = 4 A100),
about 2.25 for a B200, and for NPUs measured throughput rather than peak figures where a
measurement is public. Operators publish new versions with `ccx exchange rates publish`; this
catalogue is what a new database starts with (migration 0008).
"""

from __future__ import annotations

import sqlalchemy as sa

DEFAULT_RATES_FROM_NS = 1_735_689_600_000_000_000  # 2025-01-01T00:00:00Z
SPECS_SOURCE = "datasheet figures, dense peaks (docs/exchange.md, accelerator catalogue)"
CATALOGUE = (
    # code, name, vendor, kind, memory_gb, bf16_tflops, int8_tops, rate_micro, rate source
    ("H100", "NVIDIA H100 SXM", "NVIDIA", "gpu", 80, 989, 1979, 1_000_000,
     "the credit unit: one H100-hour (Korea's 2025 GPU support counts 1 H100 = 1 H200 = 4 A100)"),
    ("H200", "NVIDIA H200 SXM", "NVIDIA", "gpu", 141, 989, 1979, 1_000_000,
     "Korea's 2025 GPU support: 1 H200 = 1 H100"),
    ("A100", "NVIDIA A100 80GB", "NVIDIA", "gpu", 80, 312, 624, 250_000,
     "Korea's 2025 GPU support: 4 A100 = 1 H100"),
    ("B200", "NVIDIA B200 (HGX)", "NVIDIA", "gpu", 180, 2250, 4500, 2_250_000,
     "press reports of Korea's 2025 GPU support and dense BF16 peak: about 2.25 H100"),
    ("RNGD", "FuriosaAI RNGD", "FuriosaAI", "npu", 48, 256, 512, 350_000,
     "measured LLM throughput (FuriosaAI: 0.46 of an H100 on Llama 3.1 70B, 0.30 on 8B)"),
    ("ATOM", "Rebellions ATOM", "Rebellions", "npu", 16, 32, 128, 80_000,
     "no public measured throughput: INT8 peak relative to an H100 (0.065), rounded up"),
)  # fmt: skip

_TYPES = sa.table(
    "accelerator_types",
    *(sa.column(name) for name in ("code", "name", "vendor", "kind", "memory_gb")),
    *(sa.column(name) for name in ("bf16_tflops", "int8_tops", "source")),
)
_RATES = sa.table(
    "exchange_rates",
    *(sa.column(name) for name in ("accelerator", "effective_from_ns", "rate_micro")),
    *(sa.column(name) for name in ("source", "created_at_ns")),
)


def seed_catalogue(connection: sa.Connection) -> None:
    """Insert the shipped types and their default rates (into empty tables)."""
    connection.execute(
        sa.insert(_TYPES),
        [
            {
                "code": code,
                "name": name,
                "vendor": vendor,
                "kind": kind,
                "memory_gb": memory_gb,
                "bf16_tflops": bf16,
                "int8_tops": int8,
                "source": SPECS_SOURCE,
            }
            for code, name, vendor, kind, memory_gb, bf16, int8, _, _ in CATALOGUE
        ],
    )
    connection.execute(
        sa.insert(_RATES),
        [
            {
                "accelerator": row[0],
                "effective_from_ns": DEFAULT_RATES_FROM_NS,
                "rate_micro": row[7],
                "source": row[8],
                "created_at_ns": DEFAULT_RATES_FROM_NS,
            }
            for row in CATALOGUE
        ],
    )
