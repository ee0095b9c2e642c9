"""Load forecasts, anomaly and DDoS detection, and reports over the monitoring data."""
