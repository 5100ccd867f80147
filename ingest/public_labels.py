"""Names whose existence is public knowledge, so publishing them reveals nothing.

A label a client supplies (an addon, a definition, a release) appears in the public
statistics only when it passes the noisy threshold of ``ingest.privacy`` or stands in
one of these lists. Every label listed here is released every day, with noise, whether
or not any installation sent it, so its presence on a public page says nothing about
who reported.

The lists are taken from KubeVela's public repositories, never from the telemetry:
- addons: the directories of ``addons/`` and ``experimental/addons/`` in kubevela/catalog
  (commit d439627e, July 2026), 90 addons;
- definitions: the built-in definitions of kubevela/kubevela (``vela-templates/definitions``,
  internal, registry and deprecated; commit 5a44b5f1, June 2026) and those the catalogue's
  addons install, by kind;
- releases: kubevela/kubevela's release tags (v0.0.1 to v1.11.0-alpha.4) and their
  release lines; development builds count as one group (ingest.dimensions.DEVELOPMENT).

To add a name (a new KubeVela release, a new catalogue addon), take it from the public
source and say which in the commit; never add a name because it was seen in reports.
"""

# kubevela/catalog: addons/ and experimental/addons/
ADDONS = frozenset(
    [
    "argocd", "azure-keyvault-csi", "backstage", "bytebase", "canary-rollout-istio",
    "cert-manager", "chaosblade-operator", "chartmuseum", "clickhouse", "cloudshell", "crane",
    "cronhpa", "crossplane", "crossplane-aws", "crossplane-azure", "dapr", "datadog", "dex",
    "elasticsearch-operator", "envoy-gateway", "example", "example-cue",
    "flink-kubernetes-operator", "fluxcd", "gateway-traits", "grafana", "harbor",
    "ingress-nginx", "istio", "istio-gateway", "jaeger-operator", "kafka-operator", "keda",
    "koordinator", "kruise", "kruise-game", "kruise-rollout", "kube-state-metrics",
    "kube-trigger", "kubevela-io", "loki", "minio-operator", "model-serving", "model-training",
    "mongodb-operator", "mysql-exporter", "mysql-operator", "nacos-operator", "netlify",
    "node-exporter", "o11y-definitions", "observability", "observability-assets",
    "ocm-gateway-manager-addon", "ocm-hub-control-plane", "opentelemetry-operator",
    "postgres-operator", "postgrest", "process-exporter", "prometheus-server", "pyroscope",
    "rabbitmq-operator", "redis-exporter", "redis-operator", "rollout", "sae-apiserver-proxy",
    "spark-kubernetes-operator", "terraform", "terraform-alibaba", "terraform-aws",
    "terraform-azure", "terraform-baidu", "terraform-ec", "terraform-gcp", "terraform-tencent",
    "terraform-ucloud", "terraform-vsphere", "traefik", "traefik-gateway", "trivy-operator",
    "vector-config", "vegeta", "vela-core-shard-manager", "vela-prism", "vela-workflow",
    "velaux", "velero", "victoria-metric", "volcano", "zookeeper-operator",
    ]
)  # fmt: skip

# component definitions built into KubeVela or installed by catalogue addons
COMPONENT_DEFINITIONS = frozenset(
    [
    "alibaba-ack", "alibaba-amqp", "alibaba-ask", "alibaba-dns", "alibaba-ecs", "alibaba-eip",
    "alibaba-eip-slb-ecs-rds", "alibaba-kms", "alibaba-kubernetes-networking",
    "alibaba-market-tensorflow", "alibaba-mns-queue", "alibaba-mns-topic", "alibaba-mongodb",
    "alibaba-mongodb-multi", "alibaba-mse", "alibaba-nas", "alibaba-network-with-nat",
    "alibaba-oss", "alibaba-oss-website", "alibaba-private-zone", "alibaba-rabbitmq",
    "alibaba-ram", "alibaba-ram-fc", "alibaba-rds", "alibaba-rds-database",
    "alibaba-rds-instance", "alibaba-rds-preview", "alibaba-redis", "alibaba-remote-backend",
    "alibaba-rocketmq", "alibaba-sae-application", "alibaba-sae-auto-config-application",
    "alibaba-sae-namespace", "alibaba-security-group", "alibaba-slb", "alibaba-slb-acl",
    "alibaba-slb-listener", "alibaba-slb-rule", "alibaba-sls-project", "alibaba-sls-store",
    "alibaba-vpc", "alibaba-vpc-ecs-eip", "alibaba-vpc-privatelink-connection",
    "alibaba-vpn-gateway", "alibaba-vswitch", "argo-app", "argocd-cluster-credential",
    "argocd-project", "argocd-repository-credential", "aws-acm", "aws-alb", "aws-autoscaling",
    "aws-bridgecrew-read-only", "aws-cloudfront", "aws-cloudfront-s3-cdn",
    "aws-cloudwatch-cis-alarms", "aws-cloudwatch-log-group", "aws-cloudwatch-log-metric-filter",
    "aws-cloudwatch-metric-alarm", "aws-cloudwatch-metric-alarms", "aws-config",
    "aws-dynamodb-table", "aws-ec2-instance", "aws-ecs", "aws-ecs-container-definition",
    "aws-eks", "aws-eks-cluster-autoscaler", "aws-eks-external-dns",
    "aws-eks-kube-state-metrics", "aws-eks-node-problem-detector", "aws-elasticache-redis",
    "aws-elb", "aws-guardduty", "aws-iam-account", "aws-iam-assumable-role",
    "aws-iam-assumable-role-with-oidc", "aws-iam-assumable-role-with-saml",
    "aws-iam-assumable-roles", "aws-iam-assumable-roles-with-saml", "aws-iam-eks-role",
    "aws-iam-group-with-assumable-roles-policy", "aws-iam-group-with-policies",
    "aws-iam-nofile", "aws-iam-policy", "aws-iam-policy-document-aggregator",
    "aws-iam-read-only-policy", "aws-iam-role", "aws-iam-s3-user", "aws-iam-system-user",
    "aws-iam-user", "aws-key-pair", "aws-kms-key", "aws-lambda", "aws-lambda-do-it-all",
    "aws-lambda-with-inline-code", "aws-mq", "aws-notify-slack", "aws-rds", "aws-rds-aurora",
    "aws-route53-alias", "aws-route53-cluster-hostname", "aws-route53-delegation-sets",
    "aws-route53-records", "aws-route53-zones", "aws-s3", "aws-s3-log-storage",
    "aws-secretsmanager-for-rollbar-access-tokens", "aws-security-group", "aws-security-hub",
    "aws-sns-topic", "aws-sqs", "aws-ssm-parameter-store", "aws-subnet", "aws-utils", "aws-vpc",
    "azure-database-mariadb", "azure-resource-group", "azure-rg", "azure-storage-account",
    "azure-subnet", "azure-virtual-network", "azure-vnet", "baidu-vpc", "cloneset", "cron-task",
    "crossplane-aws", "crossplane-azure", "daemon", "deploy-website", "elastic-ec-deployment",
    "elasticsearch-apm-server", "elasticsearch-cluster", "elasticsearch-enterprise-search",
    "flink-cluster", "game-server-set", "gcp-appengine", "gcp-audit-log", "gcp-backend-service",
    "gcp-basic-vpc-module", "gcp-bastion", "gcp-bootstrap", "gcp-cloudfunction", "gcp-cloudsql",
    "gcp-cluster", "gcp-compute-firewall", "gcp-compute-forwarding-rule",
    "gcp-compute-forwarding-rule-dcos", "gcp-compute-forwarding-rule-masters",
    "gcp-compute-forwarding-rule-public-agents", "gcp-config", "gcp-custom-role", "gcp-dcos",
    "gcp-dns-module", "gcp-elasticsearch", "gcp-environment-setup", "gcp-firewall-rules",
    "gcp-gci", "gcp-gcs", "gcp-gke-ecommerce", "gcp-gke-regional", "gcp-googlecomputeinstance",
    "gcp-hashicorp-suite", "gcp-helmrepo", "gcp-infrastructure", "gcp-instance",
    "gcp-instance-module", "gcp-kthw", "gcp-masters", "gcp-memorystore-redis", "gcp-mq",
    "gcp-network", "gcp-network-peering", "gcp-openwisp", "gcp-private-agents",
    "gcp-public-agents", "gcp-service", "gcp-service-account", "gcp-sfabric", "gcp-statebucket",
    "gcp-staticip", "gcp-storage", "gcp-subnet", "gcp-tested-oses", "gcp-vpc", "grafana-access",
    "grafana-dashboard", "grafana-datasource", "helm", "helmchart", "jaeger",
    "jupyter-notebook", "k8s-objects", "kafka-bridge", "kafka-cluster", "kafka-connect",
    "kafka-connector", "kafka-rebalance", "kafka-topic", "kibana",
    "koordinator-colocation-profile", "koordinator-pod-migration-job",
    "koordinator-reservation", "kustomize", "model-serving", "model-training",
    "mongodb-cluster", "mongodb-standalone", "mysql-cluster", "nacos-cluster", "netlify",
    "postgres-cluster", "rabbitmq-operator", "raw", "ref-objects", "spark-workload",
    "statefulset", "task", "tencent-sqlserver-instance", "tencent-subnet", "tencent-vpc",
    "terraform-vsphere", "trigger-service", "ucloud-redis", "vector-log2metric", "volcano-job",
    "volcano-pod-group", "volcano-queue", "vsphere-file", "vsphere-folder", "webserver",
    "webservice", "worker", "zookeeper-cluster",
    ]
)  # fmt: skip

# trait definitions built into KubeVela or installed by catalogue addons
TRAIT_DEFINITIONS = frozenset(
    [
    "affinity", "annotations", "autoscale", "azure-keyvault-csi", "backstage",
    "backstage-location", "canary-traffic", "chaosblade-delete-pod-by-labels", "command",
    "configmap", "container-image", "container-ports", "cpuscaler", "cronhpa",
    "dapr-publish-injection", "dapr-publish-message-broker", "dapr-subscribe-injection",
    "dapr-subscription", "datadog", "delay-pod-network-by-names", "delete-pod-by-names",
    "dynamic-sa", "elasticsearch-agent", "elasticsearch-beat", "elasticsearch-cluster-expose",
    "env", "expose", "fail-pod-by-labels", "file-logs", "gateway", "grafana-dashboard",
    "helm-labels", "hostalias", "hpa", "http-route", "https-route", "import-grafana-dashboard",
    "increase-container-cpu-load-by-id", "ingress", "ingress-1-20", "init-container",
    "istio-gateway", "istio-vs", "json-merge-patch", "json-patch", "k8s-update-strategy",
    "kautoscale", "keda-auto-scaler", "kibana-expose", "kill-container-process-by-id",
    "kruise-rollout", "kustomize-json-patch", "kustomize-patch", "kustomize-strategy-merge",
    "labels", "lifecycle", "metrics", "mysql-exporter", "nocalhost", "node-affinity",
    "opentelemetry-collector", "opentelemetry-instrumentation", "pod-cpu-load-by-names",
    "podsecuritycontext", "prometheus-scrape", "pure-ingress", "pvc", "pyroscope",
    "redis-exporter", "register-grafana-datasource", "remove-container-by-id", "resource",
    "resource-analytics", "rolling-release", "rollout", "route", "scaler", "securitycontext",
    "service-account", "service-binding", "sidecar", "startup-probe", "storage",
    "tamper-container-dns-by-id", "tcp-route", "topologyspreadconstraints", "vegeta",
    "virtualgroup", "volumes",
    ]
)  # fmt: skip

# workflow step definitions built into KubeVela or installed by catalogue addons
WORKFLOW_STEP_DEFINITIONS = frozenset(
    [
    "addon-operation", "apply-app", "apply-application", "apply-application-in-parallel",
    "apply-component", "apply-deployment", "apply-object", "apply-remaining",
    "apply-terraform-config", "apply-terraform-provider", "build-push-image", "canary-deploy",
    "canary-rollback", "canary-rollout", "chat-gpt", "check-metrics", "clean-jobs",
    "collect-service-endpoints", "create-config", "delete-config", "depends-on-app", "deploy",
    "deploy-cloud-resource", "deploy2env", "deploy2runtime", "export-data", "export-service",
    "export2config", "export2secret", "generate-jdbc-connection", "import-grafana-dashboard",
    "install-datasource-from-addon", "install-datasource-from-config",
    "install-kubernetes-api-datasource", "list-config", "notification", "predownloadimage",
    "print-message-in-status", "read-app", "read-config", "read-object", "request",
    "restart-workflow", "share-cloud-resource", "step-group", "suspend", "trivy-check",
    "vela-cli", "webhook",
    ]
)  # fmt: skip

# policy definitions built into KubeVela or installed by catalogue addons
POLICY_DEFINITIONS = frozenset(
    [
    "apply-once", "envbinding", "garbage-collect", "override", "read-only", "replication",
    "resource-update", "shared-resource", "take-over", "topology",
    ]
)  # fmt: skip

# kubevela/kubevela release tags
RELEASE_TAGS = frozenset(
    [
    "v0.0.1", "v0.0.1-alpha", "v0.0.1.1", "v0.0.1.2", "v0.0.2", "v0.0.3", "v0.0.4", "v0.0.5",
    "v0.0.6", "v0.0.7", "v0.0.8", "v0.0.9", "v0.1.0", "v0.1.1", "v0.1.2", "v0.2.0", "v0.2.1",
    "v0.2.2", "v0.3.0", "v0.3.1", "v0.3.2", "v0.3.3", "v0.3.4", "v0.3.5", "v0.3.6", "v0.3.7",
    "v0.3.8", "v0.3.9", "v1.0.0", "v1.0.0-rc1", "v1.0.0-rc2", "v1.0.1", "v1.0.2", "v1.0.3",
    "v1.0.4", "v1.0.5", "v1.0.6", "v1.0.7", "v1.1.0", "v1.1.0-alpha.1", "v1.1.0-alpha.2",
    "v1.1.0-alpha.3", "v1.1.0-alpha.4", "v1.1.0-alpha.5", "v1.1.0-beta.1", "v1.1.0-beta.2",
    "v1.1.0-beta.3", "v1.1.0-rc.1", "v1.1.0-rc.2", "v1.1.1", "v1.1.10", "v1.1.11", "v1.1.13",
    "v1.1.2", "v1.1.3", "v1.1.4", "v1.1.5", "v1.1.6", "v1.1.7", "v1.1.8", "v1.1.9", "v1.10.0",
    "v1.10.0-alpha.1", "v1.10.1", "v1.10.2", "v1.10.3", "v1.10.4", "v1.10.5", "v1.10.6",
    "v1.10.7", "v1.10.8", "v1.10.9", "v1.11.0-alpha.1", "v1.11.0-alpha.2", "v1.11.0-alpha.3",
    "v1.11.0-alpha.4", "v1.2.0", "v1.2.0-beta.1", "v1.2.0-beta.2", "v1.2.0-beta.3",
    "v1.2.0-rc.1", "v1.2.0-rc.2", "v1.2.1", "v1.2.2", "v1.2.3", "v1.2.4", "v1.2.5", "v1.2.6",
    "v1.2.7", "v1.2.8", "v1.3.0", "v1.3.0-alpha.1", "v1.3.0-beta.1", "v1.3.0-beta.2", "v1.3.1",
    "v1.3.10", "v1.3.2", "v1.3.3", "v1.3.4", "v1.3.5", "v1.3.6", "v1.3.7", "v1.3.9", "v1.4.0",
    "v1.4.0-alpha.1", "v1.4.0-alpha.2", "v1.4.0-alpha.3", "v1.4.0-beta.1", "v1.4.0-beta.2",
    "v1.4.1", "v1.4.10", "v1.4.11", "v1.4.12", "v1.4.13", "v1.4.14", "v1.4.2", "v1.4.3",
    "v1.4.4", "v1.4.5", "v1.4.6", "v1.4.7", "v1.4.7-patch", "v1.4.8", "v1.4.9", "v1.5.0",
    "v1.5.0-alpha.1", "v1.5.0-alpha.2", "v1.5.0-alpha.3", "v1.5.0-beta.1", "v1.5.0-beta.2",
    "v1.5.0-beta.3", "v1.5.0-beta.4", "v1.5.0-beta.5", "v1.5.0-beta.6", "v1.5.0-beta.7",
    "v1.5.10", "v1.5.11", "v1.5.2", "v1.5.3", "v1.5.4", "v1.5.5", "v1.5.6", "v1.5.7", "v1.5.8",
    "v1.5.9", "v1.6.0", "v1.6.0-alpha.1", "v1.6.0-alpha.2", "v1.6.0-alpha.3", "v1.6.0-alpha.4",
    "v1.6.0-alpha.5", "v1.6.0-alpha.6", "v1.6.0-beta.1", "v1.6.0-beta.2", "v1.6.1", "v1.6.2",
    "v1.6.3", "v1.6.4", "v1.6.5", "v1.6.6", "v1.6.7", "v1.6.8", "v1.7.0", "v1.7.0-alpha.1",
    "v1.7.0-alpha.2", "v1.7.0-alpha.3", "v1.7.0-beta.1", "v1.7.0-beta.2", "v1.7.1", "v1.7.2",
    "v1.7.3", "v1.7.4", "v1.7.5", "v1.7.6", "v1.7.7", "v1.8.0", "v1.8.0-alpha.1",
    "v1.8.0-alpha.2", "v1.8.0-alpha.3", "v1.8.0-beta.1", "v1.8.0-beta.2", "v1.8.0-beta.3",
    "v1.8.0-rc.1", "v1.8.1", "v1.8.2", "v1.9.0", "v1.9.0-alpha.1", "v1.9.0-alpha.2",
    "v1.9.0-alpha.3", "v1.9.0-alpha.4", "v1.9.0-alpha.5", "v1.9.0-beta.1",
    "v1.9.0-beta.1.post1", "v1.9.0-beta.2", "v1.9.0-beta.3", "v1.9.1", "v1.9.10", "v1.9.11",
    "v1.9.12", "v1.9.13", "v1.9.14", "v1.9.2", "v1.9.3", "v1.9.4", "v1.9.5", "v1.9.6", "v1.9.7",
    "v1.9.8", "v1.9.9",
    ]
)  # fmt: skip

# Development builds (latest, main, ...) are counted as one group: see
# ingest.dimensions.DEVELOPMENT.
