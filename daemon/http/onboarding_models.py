"""Response bodies of onboarding through the admin API: the pool, billing contacts, invitations."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from daemon.http.models import Tenant


class _Response(BaseModel):
    model_config = ConfigDict(frozen=True)


class PoolNumberOut(_Response):
    number: str
    note: str
    added_at: datetime
    tenant_id: int | None = Field(description="the tenant it is given to; null: free")


class NumberPool(_Response):
    numbers: list[PoolNumberOut]


class BillingContactOut(_Response):
    tenant_id: int
    billing_name: str = Field(description="the invoice's 宛名; empty: the tenant's name")
    billing_address: str
    billing_email: str = Field(description="where issued invoices are e-mailed; empty: not mailed")


class InvitationOut(_Response):
    user_id: int
    login: str
    url: str = Field(description="the one-time link that sets the password; shown only now (only its hash is kept)")
    expires_at: datetime
    mailed_to: str | None = Field(None, description="the address the link was e-mailed to; null: not mailed")
    mail_error: str | None = Field(
        None, description="why the link could not be e-mailed (it is valid all the same: pass the url on)"
    )


class Onboarded(_Response):
    tenant: Tenant
    billing: BillingContactOut
    invitation: InvitationOut | None
