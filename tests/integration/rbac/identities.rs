//! The test identities: the shipped roles under names of this run, three ServiceAccounts bound
//! to them, and a client for each acting with its own TokenRequest token.

use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::{Value, json};

use super::calls::patch_missing;
use super::code;
use crate::sim::SimTest;
use crate::support::{admin_client, env, unique};

const READONLY: &str = include_str!("../../../deploy/rbac/readonly.yaml");
const REMEDIATION: &str = include_str!("../../../deploy/rbac/remediation.yaml");

/// Cluster-scoped objects of the test, deleted even when it panics.
struct ClusterObjects {
    roles: Vec<String>,
    bindings: Vec<String>,
}

impl Drop for ClusterObjects {
    fn drop(&mut self) {
        let (roles, bindings) = (
            std::mem::take(&mut self.roles),
            std::mem::take(&mut self.bindings),
        );
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                let client = admin_client().await;
                for b in bindings {
                    let _ = Api::<ClusterRoleBinding>::all(client.clone())
                        .delete(&b, &DeleteParams::default())
                        .await;
                }
                for r in roles {
                    let _ = Api::<ClusterRole>::all(client.clone())
                        .delete(&r, &DeleteParams::default())
                        .await;
                }
            });
        })
        .join();
    }
}

/// A client acting with a token of this ServiceAccount.
async fn client_as(admin: &kube::Client, ns: &str, sa: &str) -> kube::Client {
    let sas: Api<ServiceAccount> = Api::namespaced(admin.clone(), ns);
    let request: TokenRequest =
        serde_json::from_value(json!({"spec": {"audiences": [], "expirationSeconds": 3600}}))
            .unwrap();
    let token = sas
        .create_token_request(sa, &PostParams::default(), &request)
        .await
        .expect("TokenRequest")
        .status
        .expect("token status")
        .token;
    let kc = Kubeconfig::read_from(env().kubeconfig()).unwrap();
    let mut cfg = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .unwrap();
    cfg.auth_info = serde_json::from_value(json!({"token": token})).unwrap();
    kube::Client::try_from(cfg).unwrap()
}

pub struct Identities {
    pub readonly: kube::Client,
    pub remediation: kube::Client,
    pub both: kube::Client,
    _objects: ClusterObjects,
}

/// Creates the two roles (renamed for this run), three ServiceAccounts and their bindings.
pub async fn identities(t: &SimTest) -> Identities {
    let admin = admin_client().await;
    let suffix = unique("rbac");
    let mut objects = ClusterObjects {
        roles: Vec::new(),
        bindings: Vec::new(),
    };
    let mut role_names = Vec::new();
    for yaml in [READONLY, REMEDIATION] {
        let mut role: ClusterRole = serde_yaml_ng::from_str(yaml).expect("role yaml");
        let name = format!("{}-{suffix}", role.metadata.name.clone().unwrap());
        role.metadata.name = Some(name.clone());
        Api::<ClusterRole>::all(admin.clone())
            .create(&PostParams::default(), &role)
            .await
            .unwrap();
        objects.roles.push(name.clone());
        role_names.push(name);
    }
    let sas: Api<ServiceAccount> = Api::namespaced(admin.clone(), &t.ns.name);
    for sa in ["readonly", "remediation", "both"] {
        let obj: ServiceAccount =
            serde_json::from_value(json!({"metadata": {"name": sa}})).unwrap();
        sas.create(&PostParams::default(), &obj).await.unwrap();
    }
    for (role, members) in [
        (&role_names[0], ["readonly", "both"]),
        (&role_names[1], ["remediation", "both"]),
    ] {
        let subjects: Vec<Value> = members
            .iter()
            .map(|m| json!({"kind": "ServiceAccount", "name": m, "namespace": t.ns.name}))
            .collect();
        let binding: ClusterRoleBinding = serde_json::from_value(json!({
            "metadata": {"name": role},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": subjects,
        }))
        .unwrap();
        Api::<ClusterRoleBinding>::all(admin.clone())
            .create(&PostParams::default(), &binding)
            .await
            .unwrap();
        objects.bindings.push(role.clone());
    }
    let ids = Identities {
        readonly: client_as(&admin, &t.ns.name, "readonly").await,
        remediation: client_as(&admin, &t.ns.name, "remediation").await,
        both: client_as(&admin, &t.ns.name, "both").await,
        _objects: objects,
    };
    // The authoriser learns new bindings from its informers: wait until both apply.
    let ns = t.ns.name.clone();
    t.wait_for("the bindings to take effect", || async {
        let reads = Api::<Pod>::namespaced(ids.readonly.clone(), &ns)
            .list(&ListParams::default())
            .await
            .is_ok();
        let writes = code(&patch_missing::<ConfigMap>(&ids.remediation, &ns).await) == Some(404);
        (reads && writes).then_some(())
    })
    .await;
    ids
}
