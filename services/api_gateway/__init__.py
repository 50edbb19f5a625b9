"""HTTP API and web page; checks who may do what and publishes commands onto Kafka."""
