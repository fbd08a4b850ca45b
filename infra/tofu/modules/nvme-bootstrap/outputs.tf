output "script" {
  description = "The bootstrap script, as read from infra/bootstrap/nvme-bootstrap.sh."
  value       = local.script
}

output "environment" {
  description = "The bootstrap's settings as the environment variables it reads."
  value       = local.environment
}

output "environment_file_content" {
  description = "The settings as a systemd EnvironmentFile."
  value       = local.environment_file_content
}

output "environment_file" {
  description = "Path of the EnvironmentFile on the node."
  value       = var.environment_file
}

output "script_path" {
  description = "Path of the installed script on the node."
  value       = var.script_path
}

output "unit_name" {
  description = "Name of the systemd unit that runs the bootstrap at boot."
  value       = local.unit_name
}

output "unit" {
  description = "The systemd unit that runs the bootstrap at every boot, before the kubelet."
  value       = local.unit
}

output "install_script" {
  description = "Shell script (run as root) that installs script, settings and unit, and runs the bootstrap once."
  value       = local.install_script
}

output "mount_path" {
  description = "Where the staging file system is mounted on the node."
  value       = var.mount_path
}
