FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY requirements/runtime.txt ./requirements/
COPY worker ./worker
COPY api ./api
RUN pip install --no-cache-dir --require-hashes -r requirements/runtime.txt \
    && pip install --no-cache-dir --no-deps . \
    && useradd --system tracedrop
USER tracedrop
ENTRYPOINT ["tracedrop"]
