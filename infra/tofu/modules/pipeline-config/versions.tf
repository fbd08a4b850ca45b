# Renders only: no provider, no resource.
terraform {
  required_version = ">= 1.8.0"
}
