# The deployment image: the official Airflow image plus this project's pinned requirements
# and package. Built by docker-compose.yml (`docker compose build`).
FROM apache/airflow:3.3.2-python3.11

# Pinned, resolved set (same file `make` installs from); never _PIP_ADDITIONAL_REQUIREMENTS.
COPY --chown=airflow:0 requirements.lock /opt/smarketing/requirements.lock
RUN pip install --no-cache-dir -r /opt/smarketing/requirements.lock

COPY --chown=airflow:0 pyproject.toml README.md /opt/smarketing/
COPY --chown=airflow:0 src /opt/smarketing/src
RUN pip install --no-cache-dir --no-deps /opt/smarketing

# dbt project and GX suites ship in the image; compose also bind-mounts them for development.
COPY --chown=airflow:0 dbt_project /opt/smarketing/dbt_project
COPY --chown=airflow:0 expectations /opt/smarketing/expectations
COPY --chown=airflow:0 dags /opt/airflow/dags

ENV SMARKETING_PROJECT_DIR=/opt/smarketing \
    SMARKETING_DATA_DIR=/opt/smarketing/data \
    GX_ANALYTICS_ENABLED=False \
    DBT_SEND_ANONYMOUS_USAGE_STATS=False
