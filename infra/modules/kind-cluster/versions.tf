terraform {
  # mock_provider in tests needs OpenTofu >= 1.8 or Terraform >= 1.7.
  required_version = ">= 1.7.0"
}
