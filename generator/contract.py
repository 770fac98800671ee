"""The landing contract's columns, as the generator writes them (see shared/contracts/landing.md)."""

from __future__ import annotations

COLUMNS: dict[str, tuple[str, ...]] = {
    "dealers": ("dealer_code", "dealer_name", "brands", "city", "region", "phone"),
    "dealer_sales": (
        "dealer_code", "deal_id", "deal_date", "first_name", "last_name", "company_name",
        "email", "phone", "street", "city", "region", "postal_code", "birth_date", "vin",
        "make", "model", "model_year", "condition", "sale_price", "payment_type",
        "term_months", "trade_in_vin",
    ),
    "service_orders": (
        "dealer_code", "ro_number", "open_date", "customer_name", "phone", "email", "vin",
        "mileage", "pay_type", "labor_amount", "parts_amount", "total_amount", "description",
    ),
    "oem_registrations": (
        "brand", "registration_id", "vin", "registration_date", "event", "owner_first_name",
        "owner_last_name", "street", "city", "region", "postal_code", "phone", "email",
        "consent_marketing",
    ),
    "crm_leads": (
        "dealer_code", "lead_id", "created_at", "source", "first_name", "last_name", "email",
        "phone", "interest_make", "interest_model", "status",
    ),
}  # fmt: skip

PERSON_SOURCES = ("dealer_sales", "service_orders", "oem_registrations", "crm_leads")


# source_record_id = these columns joined by ':' (landing contract).
KEYS: dict[str, tuple[str, ...]] = {
    "dealers": ("dealer_code",),
    "dealer_sales": ("dealer_code", "deal_id"),
    "service_orders": ("dealer_code", "ro_number"),
    "oem_registrations": ("registration_id",),
    "crm_leads": ("dealer_code", "lead_id"),
}
