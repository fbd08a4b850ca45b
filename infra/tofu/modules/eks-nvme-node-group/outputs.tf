output "node_group_arn" {
  description = "ARN of the node group."
  value       = aws_eks_node_group.this.arn
}

output "node_role_arn" {
  description = "IAM role of the nodes."
  value       = aws_iam_role.node.arn
}

output "launch_template_id" {
  description = "Launch template carrying the NVMe bootstrap."
  value       = aws_launch_template.this.id
}
