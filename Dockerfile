# One image for every `wxbot` subcommand: `docker run IMAGE serve`, `... scheduler run`, `... db upgrade`.
# Stage 1 builds wheels; stage 2 installs them into a slim runtime as a non-root user.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY posts ./posts
COPY scheduler ./scheduler
COPY sandbox ./sandbox
COPY wxbot ./wxbot
RUN pip install --no-cache-dir --upgrade pip \
 && pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 WXBOT_SERVER_HOST=0.0.0.0
RUN groupadd --system wxbot && useradd --system --gid wxbot --home-dir /app --create-home wxbot
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
WORKDIR /app
USER wxbot
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status == 200 else 1)"
ENTRYPOINT ["wxbot"]
CMD ["serve"]
