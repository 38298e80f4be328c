"""Files and manifests: the files root and S3 policy, reading and writing manifests and label exports."""
