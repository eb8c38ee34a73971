"""API key table (private). Only a SHA-256 of each secret is stored."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ccx.db import Base


class ApiKeyRow(Base):
    __tablename__ = "api_keys"

    key_id: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    secret_sha256: Mapped[bytes] = mapped_column(sa.LargeBinary(32))
    role: Mapped[str] = mapped_column(sa.String(16))
    org_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    label: Mapped[str] = mapped_column(sa.String(200))
    created_at_ns: Mapped[int] = mapped_column(sa.BigInteger)
    revoked: Mapped[bool] = mapped_column(sa.Boolean, default=False)

    __table_args__ = (
        sa.CheckConstraint(
            "role IN ('admin', 'operator', 'integrator', 'firm', 'auditor')",
            name="api_key_role_known",
        ),
    )
