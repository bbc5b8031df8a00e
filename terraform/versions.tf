terraform {
  required_version = ">= 1.9" # validations that compare two variables

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
  }

  # The path is given at init (-backend-config=path=...): the lab keeps its state under .lab/.
  backend "local" {}
}
