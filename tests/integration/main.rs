//! Integration tests against real services: the test cluster (kube-apiserver,
//! kube-controller-manager and etcd) and redis-server started by `scripts/test-env up`. One test binary keeps CI fast: the
//! crate links once. Tests that need a service fail loudly when it is missing.

mod support;

mod actions;
mod actions_more;
mod agent;
mod alertmanager;
mod app;
mod approval_discord;
mod approval_loop;
mod approval_telegram;
mod approval_three_platforms;
mod approvals;
mod chat;
mod commands;
mod context;
mod conversation;
mod conversation_propose;
mod demo;
mod fakes;
mod llm;
mod pipeline;
mod postmortem;
mod rbac;
mod signals;
mod sim;
mod slack_incidents;
mod store;
mod storm;
mod test_env;
