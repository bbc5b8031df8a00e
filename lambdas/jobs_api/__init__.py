"""The conversion jobs API: POST /jobs and GET /jobs/{job_id} behind API Gateway."""
