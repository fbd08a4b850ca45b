CREATE DATABASE mlflow OWNER pipeline;
