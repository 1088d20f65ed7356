package roll

// The pools' gates through the API: cordon, evict, uncordon, and the new
// nodes' readiness. Evictions go through the Eviction API, which refuses one
// that a PodDisruptionBudget forbids (429): the roll then waits and asks
// again, and stops at the pool's drain timeout rather than terminating a
// node whose pods may not go.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

type apiNode struct {
	Metadata struct{ Name string } `json:"metadata"`
	Spec     struct {
		Unschedulable bool `json:"unschedulable"`
	} `json:"spec"`
	Status struct {
		Addresses  []struct{ Type, Address string }        `json:"addresses"`
		Conditions []struct{ Type, Status, Reason string } `json:"conditions"`
	} `json:"status"`
}

// ready is nil when the node's Ready condition is True.
func (n apiNode) ready() error {
	for _, c := range n.Status.Conditions {
		if c.Type == "Ready" {
			if c.Status == "True" {
				return nil
			}
			return fmt.Errorf("node %s is not Ready (%s %s)", n.Metadata.Name, c.Status, c.Reason)
		}
	}
	return fmt.Errorf("node %s has no Ready condition yet", n.Metadata.Name)
}

func (n apiNode) internalIP() string {
	for _, a := range n.Status.Addresses {
		if a.Type == "InternalIP" {
			return a.Address
		}
	}
	return ""
}

// nodes lists the nodes (selector may be empty) through the API at host,
// by internal address.
func (g *ClusterGates) nodes(ctx context.Context, host, selector string) (map[string]apiNode, error) {
	path := "/api/v1/nodes"
	if selector != "" {
		path += "?labelSelector=" + url.QueryEscape(selector)
	}
	code, body, err := g.get(ctx, host, path)
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("listing nodes: %d %s", code, firstLine(string(body)))
	}
	var list struct{ Items []apiNode }
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, fmt.Errorf("listing nodes: %w", err)
	}
	out := map[string]apiNode{}
	for _, n := range list.Items {
		if ip := n.internalIP(); ip != "" {
			out[ip] = n
		}
	}
	return out, nil
}

func (g *ClusterGates) node(ctx context.Context, ip string) (apiNode, error) {
	nodes, err := g.nodes(ctx, g.APIHost, "")
	if err != nil {
		return apiNode{}, err
	}
	n, ok := nodes[ip]
	if !ok {
		return apiNode{}, fmt.Errorf("no node with internal address %s is registered", ip)
	}
	return n, nil
}

// NodesReady checks the nodes with these internal addresses with one list.
func (g *ClusterGates) NodesReady(ctx context.Context, ips []string) error {
	nodes, err := g.nodes(ctx, g.APIHost, "")
	if err != nil {
		return err
	}
	var problems []string
	for _, ip := range ips {
		n, ok := nodes[ip]
		if !ok {
			problems = append(problems, fmt.Sprintf("no node with internal address %s is registered", ip))
		} else if err := n.ready(); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// Cordon marks the node unschedulable.
func (g *ClusterGates) Cordon(ctx context.Context, ip string) error {
	return g.schedulable(ctx, ip, false)
}

// Uncordon makes the node schedulable again.
func (g *ClusterGates) Uncordon(ctx context.Context, ip string) error {
	return g.schedulable(ctx, ip, true)
}

func (g *ClusterGates) schedulable(ctx context.Context, ip string, on bool) error {
	n, err := g.node(ctx, ip)
	if err != nil {
		return err
	}
	if n.Spec.Unschedulable == !on {
		return nil
	}
	patch := fmt.Sprintf(`{"spec":{"unschedulable":%t}}`, !on)
	code, body, err := g.do(ctx, g.APIHost, http.MethodPatch, "/api/v1/nodes/"+url.PathEscape(n.Metadata.Name), "application/strategic-merge-patch+json", []byte(patch))
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("patching node %s: %d %s", n.Metadata.Name, code, firstLine(string(body)))
	}
	return nil
}

type apiPod struct {
	Metadata struct {
		Name, Namespace   string
		DeletionTimestamp string                  `json:"deletionTimestamp"`
		Annotations       map[string]string       `json:"annotations"`
		OwnerReferences   []struct{ Kind string } `json:"ownerReferences"`
	} `json:"metadata"`
	Status struct{ Phase string } `json:"status"`
}

// moves says whether a drain moves the pod, as `kubectl drain
// --ignore-daemonsets --delete-emptydir-data` does: not a DaemonSet's pod
// (its controller puts it back) nor a static one (the kubelet runs it), nor
// one that already finished.
func (p apiPod) moves() bool {
	if _, mirror := p.Metadata.Annotations["kubernetes.io/config.mirror"]; mirror {
		return false
	}
	for _, o := range p.Metadata.OwnerReferences {
		if o.Kind == "DaemonSet" {
			return false
		}
	}
	return p.Status.Phase != "Succeeded" && p.Status.Phase != "Failed"
}

// Evict asks for the eviction of every pod of the node a drain moves, and
// returns nil once none is left.
func (g *ClusterGates) Evict(ctx context.Context, ip string) error {
	n, err := g.node(ctx, ip)
	if err != nil {
		return err
	}
	code, body, err := g.get(ctx, g.APIHost, "/api/v1/pods?fieldSelector="+url.QueryEscape("spec.nodeName="+n.Metadata.Name))
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("listing the pods of node %s: %d %s", n.Metadata.Name, code, firstLine(string(body)))
	}
	var list struct{ Items []apiPod }
	if err := json.Unmarshal(body, &list); err != nil {
		return fmt.Errorf("listing the pods of node %s: %w", n.Metadata.Name, err)
	}
	var left []string
	for _, p := range list.Items {
		if !p.moves() {
			continue
		}
		id := p.Metadata.Namespace + "/" + p.Metadata.Name
		if p.Metadata.DeletionTimestamp != "" {
			left = append(left, id+": stopping")
			continue
		}
		eviction, _ := json.Marshal(map[string]any{
			"apiVersion": "policy/v1", "kind": "Eviction",
			"metadata": map[string]string{"name": p.Metadata.Name, "namespace": p.Metadata.Namespace},
		})
		path := fmt.Sprintf("/api/v1/namespaces/%s/pods/%s/eviction", url.PathEscape(p.Metadata.Namespace), url.PathEscape(p.Metadata.Name))
		code, body, err := g.do(ctx, g.APIHost, http.MethodPost, path, "application/json", eviction)
		switch {
		case err != nil:
			left = append(left, fmt.Sprintf("%s: %v", id, err))
		case code == http.StatusCreated || code == http.StatusOK:
			left = append(left, id+": evicted, stopping")
		case code == http.StatusNotFound:
		default:
			// 429: a PodDisruptionBudget forbids it now.
			left = append(left, fmt.Sprintf("%s: eviction refused (%d): %s", id, code, apiMessage(body)))
		}
	}
	if len(left) > 0 {
		return fmt.Errorf("node %s has %d pods left: %s", n.Metadata.Name, len(left), strings.Join(left, "; "))
	}
	return nil
}

// apiMessage is a Status's message with its causes (a budget's says how
// many healthy pods it needs and has), or the body's first line.
func apiMessage(body []byte) string {
	var st struct {
		Message string
		Details struct {
			Causes []struct{ Message string }
		}
	}
	if json.Unmarshal(body, &st) != nil || st.Message == "" {
		return firstLine(string(body))
	}
	msg := strings.TrimSuffix(st.Message, ".")
	var causes []string
	for _, c := range st.Details.Causes {
		if c.Message != "" {
			causes = append(causes, strings.TrimSuffix(c.Message, "."))
		}
	}
	if len(causes) > 0 {
		msg += " (" + strings.Join(causes, "; ") + ")"
	}
	return msg
}
