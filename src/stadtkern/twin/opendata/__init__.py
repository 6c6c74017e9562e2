"""Open data: the non-personal sensor data of the city as downloadable datasets with a DCAT-AP.de catalogue."""
