FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY worker ./worker
COPY api ./api
RUN pip install --no-cache-dir . && useradd --system tracedrop
USER tracedrop
ENTRYPOINT ["tracedrop"]
