package awsread

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/kinfra-dev/kinfra/internal/inventory"
)

// maxTagARNs is how many resources one elasticloadbalancing:DescribeTags
// call takes.
const maxTagARNs = 20

// readLoadBalancers reads the load balancers in the VPC (the API has no VPC
// filter) and their listeners.
func (r *reader) readLoadBalancers(ctx context.Context) error {
	p := elbv2.NewDescribeLoadBalancersPaginator(r.c.ELB, &elbv2.DescribeLoadBalancersInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return call("elasticloadbalancing:DescribeLoadBalancers", err)
		}
		for _, l := range out.LoadBalancers {
			if aws.ToString(l.VpcId) != r.vpcID {
				continue
			}
			lb := inventory.LoadBalancer{
				ARN: aws.ToString(l.LoadBalancerArn), Name: aws.ToString(l.LoadBalancerName),
				Type: string(l.Type), Scheme: string(l.Scheme), VpcID: r.vpcID,
				SubnetIDs: []string{}, SecurityGroupIDs: l.SecurityGroups,
			}
			for _, z := range l.AvailabilityZones {
				if z.SubnetId != nil {
					lb.SubnetIDs = append(lb.SubnetIDs, *z.SubnetId)
				}
			}
			if lb.Listeners, err = r.listeners(ctx, lb.ARN); err != nil {
				return err
			}
			r.inv.LoadBalancers = append(r.inv.LoadBalancers, lb)
		}
	}
	return nil
}

func (r *reader) listeners(ctx context.Context, lbARN string) ([]inventory.Listener, error) {
	listeners := []inventory.Listener{}
	p := elbv2.NewDescribeListenersPaginator(r.c.ELB, &elbv2.DescribeListenersInput{LoadBalancerArn: aws.String(lbARN)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, call("elasticloadbalancing:DescribeListeners "+lbARN, err)
		}
		for _, l := range out.Listeners {
			listeners = append(listeners, inventory.Listener{
				ARN: aws.ToString(l.ListenerArn), Port: aws.ToInt32(l.Port), Protocol: string(l.Protocol),
				TargetGroupARNs: forwardTargets(l.DefaultActions),
			})
		}
	}
	return listeners, nil
}

// forwardTargets are the target groups a listener's default forward
// actions name, whether as TargetGroupArn or in a ForwardConfig.
func forwardTargets(actions []elbtypes.Action) []string {
	arns := []string{}
	seen := map[string]bool{}
	add := func(arn *string) {
		if a := aws.ToString(arn); a != "" && !seen[a] {
			seen[a] = true
			arns = append(arns, a)
		}
	}
	for _, a := range actions {
		if a.Type != elbtypes.ActionTypeEnumForward {
			continue
		}
		add(a.TargetGroupArn)
		if a.ForwardConfig != nil {
			for _, t := range a.ForwardConfig.TargetGroups {
				add(t.TargetGroupArn)
			}
		}
	}
	return arns
}

func (r *reader) readTargetGroups(ctx context.Context) error {
	p := elbv2.NewDescribeTargetGroupsPaginator(r.c.ELB, &elbv2.DescribeTargetGroupsInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return call("elasticloadbalancing:DescribeTargetGroups", err)
		}
		for _, t := range out.TargetGroups {
			if aws.ToString(t.VpcId) != r.vpcID {
				continue
			}
			r.inv.TargetGroups = append(r.inv.TargetGroups, inventory.TargetGroup{
				ARN: aws.ToString(t.TargetGroupArn), Name: aws.ToString(t.TargetGroupName),
				Protocol: string(t.Protocol), Port: aws.ToInt32(t.Port), VpcID: r.vpcID,
				TargetType: string(t.TargetType), HealthCheckProtocol: string(t.HealthCheckProtocol),
				HealthCheckPath: aws.ToString(t.HealthCheckPath),
			})
		}
	}
	return nil
}

// readELBTags reads the load balancers' and target groups' tags, which
// their Describe calls do not answer.
func (r *reader) readELBTags(ctx context.Context) error {
	tags := map[string]*inventory.Tags{}
	var arns []string
	for i := range r.inv.LoadBalancers {
		lb := &r.inv.LoadBalancers[i]
		tags[lb.ARN] = &lb.Tags
		arns = append(arns, lb.ARN)
	}
	for i := range r.inv.TargetGroups {
		tg := &r.inv.TargetGroups[i]
		tags[tg.ARN] = &tg.Tags
		arns = append(arns, tg.ARN)
	}
	for _, batch := range chunks(arns, maxTagARNs) {
		out, err := r.c.ELB.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: batch})
		if err != nil {
			return call("elasticloadbalancing:DescribeTags", err)
		}
		for _, d := range out.TagDescriptions {
			dst, ok := tags[aws.ToString(d.ResourceArn)]
			if !ok || len(d.Tags) == 0 {
				continue
			}
			*dst = make(inventory.Tags, len(d.Tags))
			for _, t := range d.Tags {
				(*dst)[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
		}
	}
	return nil
}
