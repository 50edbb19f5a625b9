# One image for the three services; docker-compose.yml picks the app per service.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml ./
COPY shared ./shared
COPY services ./services
COPY ops ./ops
RUN pip install --no-cache-dir .
ENV PYTHONUNBUFFERED=1
EXPOSE 8000
CMD ["uvicorn", "--factory", "services.api_gateway.main:create_app", "--host", "0.0.0.0", "--port", "8000"]
