//! Side A / side B: a node that stops or turns standby closes its sessions; the cluster's
//! state (agents, calls) lives on for the other side.

use super::*;

impl World {
    /// Close every connection of a node (the node stops).
    pub(crate) fn close_node(&mut self, node: &Arc<NodeState>) {
        let ids: Vec<u64> = self
            .conns
            .iter()
            .filter(|(_, c)| Arc::ptr_eq(&c.node, node))
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.remove_conn(id);
        }
    }
}
