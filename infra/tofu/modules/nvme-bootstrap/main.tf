# The one bootstrap script (infra/bootstrap/nvme-bootstrap.sh), read with file(), never copied,
# with its settings as the environment it reads and a oneshot unit that runs it at every boot:
# instance-store disks come back empty after a stop/start, and the script rebuilds them.
locals {
  script = file("${path.module}/../../../bootstrap/nvme-bootstrap.sh")

  environment = {
    NVME_DEVICES       = var.device_pattern
    NVME_RAID          = var.raid
    NVME_FS            = var.filesystem
    NVME_MOUNT_OPTIONS = var.mount_options
    NVME_MOUNT_PATH    = var.mount_path
    NVME_MOUNT_METHOD  = var.mount_method
    NVME_STAGES        = join(" ", var.stages)
    NVME_OWNER         = var.owner
    NVME_MD_NAME       = var.md_name
  }

  # systemd EnvironmentFile syntax: a double-quoted value keeps the glob and the spaces.
  environment_file_content = join("", [for key in sort(keys(local.environment)) : "${key}=\"${local.environment[key]}\"\n"])

  unit_name = "nvme-bootstrap.service"
  unit      = <<-UNIT
    [Unit]
    Description=Pipeline staging on local NVMe at ${var.mount_path} (infra/bootstrap/nvme-bootstrap.sh)
    After=local-fs.target
    Before=kubelet.service rke2-server.service rke2-agent.service crio.service

    [Service]
    Type=oneshot
    RemainAfterExit=yes
    EnvironmentFile=${var.environment_file}
    ExecStart=${var.script_path}

    [Install]
    WantedBy=multi-user.target
  UNIT

  # What user data (EC2, the EKS launch template) or remote-exec (RKE2) runs as root once; the
  # unit then runs the bootstrap at every boot. Base64 keeps the script byte for byte.
  install_script = <<-SCRIPT
    #!/bin/bash
    # Installs infra/bootstrap/nvme-bootstrap.sh as ${local.unit_name} and runs it now.
    set -euo pipefail
    ${var.install_packages}
    install -d -m 0755 "$(dirname ${var.script_path})" "$(dirname ${var.environment_file})"
    echo '${base64encode(local.script)}' | base64 -d > ${var.script_path}
    chmod 0755 ${var.script_path}
    echo '${base64encode(local.environment_file_content)}' | base64 -d > ${var.environment_file}
    echo '${base64encode(local.unit)}' | base64 -d > /etc/systemd/system/${local.unit_name}
    systemctl daemon-reload
    systemctl enable ${local.unit_name}
    systemctl restart ${local.unit_name}
  SCRIPT
}
