"""Land-use compensation of business projects that occupy forest land (经营性项目用地碳汇补偿)."""
