# One image for the Dagster webserver, the Dagster daemon and the dashboard.
FROM python:3.11-slim-bookworm
ENV UV_PROJECT_ENVIRONMENT=/opt/venv UV_PYTHON_DOWNLOADS=never UV_COMPILE_BYTECODE=1 \
    PATH=/opt/venv/bin:$PATH \
    DEALER360_HOME=/var/lib/dealer360 DAGSTER_HOME=/var/lib/dealer360/dagster
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --locked --no-dev --no-install-project
COPY . .
RUN uv sync --locked --no-dev && mkdir -p "$DAGSTER_HOME" && cp deploy/dagster.yaml "$DAGSTER_HOME/dagster.yaml" \
    && DEALER360_PG_HOST=build DEALER360_PG_PORT=5432 DEALER360_PG_USER=build \
       DEALER360_PG_PASSWORD= DEALER360_PG_DATABASE=build \
       python -c "from orchestration.modeling import ensure_manifest; ensure_manifest()"
# The dbt manifest is parsed at build time (parsing needs a profile, not a database: the
# placeholder connection above is never opened), so containers start without parsing.
