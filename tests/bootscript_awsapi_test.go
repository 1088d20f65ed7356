package tests

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// motoAPI is the test's own client of the AWS API emulator: it creates what
// the program would have created and reads back what the boot script did.
// It speaks the AWS wire protocols directly (EC2 query, Route53 REST-XML,
// KMS and SSM JSON), which is much faster than one AWS CLI process per call;
// the boot script itself uses the real AWS CLI. The emulator routes a
// request by the service in its SigV4 credential scope and does not check
// signatures, so the Authorization header carries a scope and no signature.
type motoAPI struct {
	endpoint, region string
	client           *http.Client
}

func newMotoAPI(endpoint, region string) *motoAPI {
	return &motoAPI{endpoint: endpoint, region: region, client: &http.Client{Timeout: 30 * time.Second}}
}

func (a *motoAPI) do(t *testing.T, service, method, path string, header map[string]string, body []byte) []byte {
	t.Helper()
	status, out := a.try(t, service, method, path, header, body)
	require.True(t, status/100 == 2, "%s %s %s: %d\n%s", service, method, path, status, out)
	return out
}

// try makes a call and returns its HTTP status and body, whatever they are.
func (a *motoAPI) try(t *testing.T, service, method, path string, header map[string]string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, a.endpoint+path, bytes.NewReader(body))
	require.NoError(t, err)
	region := a.region
	if service == "route53" {
		region = "us-east-1" // Route53 is global: its scope is always us-east-1
	}
	req.Header.Set("Authorization", fmt.Sprintf("AWS4-HMAC-SHA256 Credential=testing/%s/%s/%s/aws4_request, SignedHeaders=host, Signature=0",
		time.Now().UTC().Format("20060102"), region, service))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := a.client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, out
}

// ec2 calls an EC2 query action and decodes its XML answer into out.
func (a *motoAPI) ec2(t *testing.T, action string, params url.Values, out any) {
	t.Helper()
	params.Set("Action", action)
	params.Set("Version", "2016-11-15")
	body := a.do(t, "ec2", http.MethodPost, "/", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, []byte(params.Encode()))
	if out != nil {
		require.NoError(t, xml.Unmarshal(body, out), "%s: %s", action, body)
	}
}

// jsonCall calls a JSON-protocol action (KMS, SSM).
func (a *motoAPI) jsonCall(t *testing.T, service, target string, in, out any) {
	t.Helper()
	body, err := json.Marshal(in)
	require.NoError(t, err)
	resp := a.do(t, service, http.MethodPost, "/", map[string]string{
		"Content-Type": "application/x-amz-json-1.1",
		"X-Amz-Target": target,
	}, body)
	if out != nil {
		require.NoError(t, json.Unmarshal(resp, out), "%s: %s", target, resp)
	}
}

func motoTagParams(p url.Values, resourceType string, tags map[string]string) {
	p.Set("TagSpecification.1.ResourceType", resourceType)
	for i, k := range sortedKeys(tags) {
		n := strconv.Itoa(i + 1)
		p.Set("TagSpecification.1.Tag."+n+".Key", k)
		p.Set("TagSpecification.1.Tag."+n+".Value", tags[k])
	}
}

// volumeSpec is an EBS volume as the program declares it.
type motoVolumeSpec struct {
	Zone, Type       string
	Size, Iops, Thru int
	Encrypted        bool
	Tags             map[string]string
}

func (a *motoAPI) createVolume(t *testing.T, v motoVolumeSpec) string {
	t.Helper()
	p := url.Values{}
	p.Set("AvailabilityZone", v.Zone)
	p.Set("Size", strconv.Itoa(v.Size))
	p.Set("VolumeType", v.Type)
	p.Set("Encrypted", strconv.FormatBool(v.Encrypted))
	if v.Iops > 0 {
		p.Set("Iops", strconv.Itoa(v.Iops))
	}
	if v.Thru > 0 {
		p.Set("Throughput", strconv.Itoa(v.Thru))
	}
	motoTagParams(p, "volume", v.Tags)
	var out struct {
		VolumeID string `xml:"volumeId"`
	}
	a.ec2(t, "CreateVolume", p, &out)
	require.NotEmpty(t, out.VolumeID)
	return out.VolumeID
}

type motoInstance struct{ ID, PrivateIP string }

func (a *motoAPI) runInstance(t *testing.T, zone string, tags map[string]string) motoInstance {
	t.Helper()
	p := url.Values{}
	p.Set("ImageId", "ami-12c6146b")
	p.Set("InstanceType", "m6i.xlarge")
	p.Set("MinCount", "1")
	p.Set("MaxCount", "1")
	p.Set("Placement.AvailabilityZone", zone)
	motoTagParams(p, "instance", tags)
	var out struct {
		Instances []struct {
			ID        string `xml:"instanceId"`
			PrivateIP string `xml:"privateIpAddress"`
		} `xml:"instancesSet>item"`
	}
	a.ec2(t, "RunInstances", p, &out)
	require.Len(t, out.Instances, 1)
	require.NotEmpty(t, out.Instances[0].PrivateIP)
	return motoInstance{out.Instances[0].ID, out.Instances[0].PrivateIP}
}

func (a *motoAPI) instanceAction(t *testing.T, action, id string) {
	t.Helper()
	a.ec2(t, action, url.Values{"InstanceId.1": {id}}, nil)
}

func (a *motoAPI) instanceState(t *testing.T, id string) string {
	t.Helper()
	var out struct {
		States []string `xml:"reservationSet>item>instancesSet>item>instanceState>name"`
	}
	a.ec2(t, "DescribeInstances", url.Values{"InstanceId.1": {id}}, &out)
	require.Len(t, out.States, 1)
	return out.States[0]
}

func (a *motoAPI) attachVolume(t *testing.T, volume, instanceID, device string) {
	t.Helper()
	a.ec2(t, "AttachVolume", url.Values{"VolumeId": {volume}, "InstanceId": {instanceID}, "Device": {device}}, nil)
}

type motoVolume struct {
	ID, Zone, Status string
	Attachments      []motoAttachment
}

type motoAttachment struct{ InstanceID, Device, Status string }

func (a *motoAPI) volume(t *testing.T, id string) motoVolume {
	t.Helper()
	var out struct {
		Volumes []struct {
			ID          string `xml:"volumeId"`
			Zone        string `xml:"availabilityZone"`
			Status      string `xml:"status"`
			Attachments []struct {
				InstanceID string `xml:"instanceId"`
				Device     string `xml:"device"`
				Status     string `xml:"status"`
			} `xml:"attachmentSet>item"`
		} `xml:"volumeSet>item"`
	}
	a.ec2(t, "DescribeVolumes", url.Values{"VolumeId.1": {id}}, &out)
	require.Len(t, out.Volumes, 1)
	v := out.Volumes[0]
	s := motoVolume{ID: v.ID, Zone: v.Zone, Status: v.Status}
	for _, at := range v.Attachments {
		s.Attachments = append(s.Attachments, motoAttachment(at))
	}
	return s
}

func (a *motoAPI) defaultVPC(t *testing.T) string {
	t.Helper()
	var out struct {
		IDs []string `xml:"vpcSet>item>vpcId"`
	}
	a.ec2(t, "DescribeVpcs", url.Values{"Filter.1.Name": {"is-default"}, "Filter.1.Value.1": {"true"}}, &out)
	require.Len(t, out.IDs, 1)
	return out.IDs[0]
}

const motoRoute53NS = "https://route53.amazonaws.com/doc/2013-04-01/"

// createPrivateZone creates a private hosted zone and returns its ID as
// Pulumi's aws.route53.Zone reports it (zoneId: no /hostedzone/ prefix).
func (a *motoAPI) createPrivateZone(t *testing.T, name, comment, vpc string) string {
	t.Helper()
	body := fmt.Sprintf(`<CreateHostedZoneRequest xmlns="%s"><Name>%s</Name><CallerReference>kinfra-test-%d</CallerReference>`+
		`<VPC><VPCRegion>%s</VPCRegion><VPCId>%s</VPCId></VPC>`+
		`<HostedZoneConfig><Comment>%s</Comment><PrivateZone>true</PrivateZone></HostedZoneConfig></CreateHostedZoneRequest>`,
		motoRoute53NS, name, time.Now().UnixNano(), a.region, vpc, motoXMLText(comment))
	var out struct {
		ID string `xml:"HostedZone>Id"`
	}
	require.NoError(t, xml.Unmarshal(a.do(t, "route53", http.MethodPost, "/2013-04-01/hostedzone", nil, []byte(body)), &out))
	id := strings.TrimPrefix(out.ID, "/hostedzone/")
	require.NotEmpty(t, id)
	return id
}

func (a *motoAPI) createRecord(t *testing.T, zone, name, typ string, ttl int, values []string) {
	t.Helper()
	var rrs strings.Builder
	for _, v := range values {
		fmt.Fprintf(&rrs, "<ResourceRecord><Value>%s</Value></ResourceRecord>", motoXMLText(v))
	}
	body := fmt.Sprintf(`<ChangeResourceRecordSetsRequest xmlns="%s"><ChangeBatch><Changes><Change><Action>CREATE</Action>`+
		`<ResourceRecordSet><Name>%s</Name><Type>%s</Type><TTL>%d</TTL><ResourceRecords>%s</ResourceRecords></ResourceRecordSet>`+
		`</Change></Changes></ChangeBatch></ChangeResourceRecordSetsRequest>`, motoRoute53NS, name, typ, ttl, rrs.String())
	a.do(t, "route53", http.MethodPost, "/2013-04-01/hostedzone/"+zone+"/rrset", nil, []byte(body))
}

type motoRecordSet struct {
	Name, Type string
	TTL        int
	Values     []string
}

func (a *motoAPI) records(t *testing.T, zone string) []motoRecordSet {
	t.Helper()
	var out struct {
		Sets []struct {
			Name   string   `xml:"Name"`
			Type   string   `xml:"Type"`
			TTL    int      `xml:"TTL"`
			Values []string `xml:"ResourceRecords>ResourceRecord>Value"`
		} `xml:"ResourceRecordSets>ResourceRecordSet"`
	}
	require.NoError(t, xml.Unmarshal(a.do(t, "route53", http.MethodGet, "/2013-04-01/hostedzone/"+zone+"/rrset", nil, nil), &out))
	var sets []motoRecordSet
	for _, s := range out.Sets {
		sets = append(sets, motoRecordSet(s))
	}
	return sets
}

func (a *motoAPI) createKey(t *testing.T, description string) string {
	t.Helper()
	var out struct {
		KeyMetadata struct{ Arn string }
	}
	a.jsonCall(t, "kms", "TrentService.CreateKey", map[string]any{"Description": description}, &out)
	require.NotEmpty(t, out.KeyMetadata.Arn)
	return out.KeyMetadata.Arn
}

// ssmParameter is an SSM parameter as the program declares it.
type motoParameter struct {
	Name, Type, Tier, Description, Value string
}

func (a *motoAPI) putParameter(t *testing.T, p motoParameter, keyArn string) {
	t.Helper()
	req := map[string]any{"Name": p.Name, "Type": p.Type, "Tier": p.Tier, "Description": p.Description, "Value": p.Value}
	if keyArn != "" {
		req["KeyId"] = keyArn
	}
	a.jsonCall(t, "ssm", "AmazonSSM.PutParameter", req, nil)
}

func motoXMLText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// parameter reads a String parameter's value; ok is false when SSM says it
// does not exist.
func (a *motoAPI) parameter(t *testing.T, name string) (value string, ok bool) {
	t.Helper()
	body, err := json.Marshal(map[string]any{"Name": name})
	require.NoError(t, err)
	status, out := a.try(t, "ssm", http.MethodPost, "/", map[string]string{
		"Content-Type": "application/x-amz-json-1.1",
		"X-Amz-Target": "AmazonSSM.GetParameter",
	}, body)
	if status == http.StatusBadRequest && strings.Contains(string(out), "ParameterNotFound") {
		return "", false
	}
	require.Equal(t, http.StatusOK, status, "GetParameter %s: %s", name, out)
	var got struct{ Parameter struct{ Value, Type string } }
	require.NoError(t, json.Unmarshal(out, &got), "%s", out)
	require.Equal(t, "String", got.Parameter.Type, name)
	return got.Parameter.Value, true
}

// metricSum is the sum of a metric's data points of the last hour (per
// minute, added up), through CloudWatch's GetMetricData (query protocol).
func (a *motoAPI) metricSum(t *testing.T, namespace, name string, dimensions map[string]string) (sum float64, points int) {
	t.Helper()
	now := time.Now().UTC()
	p := url.Values{
		"Action":                        {"GetMetricData"},
		"Version":                       {"2010-08-01"},
		"StartTime":                     {now.Add(-time.Hour).Format(time.RFC3339)},
		"EndTime":                       {now.Add(time.Minute).Format(time.RFC3339)},
		"MetricDataQueries.member.1.Id": {"m"},
		"MetricDataQueries.member.1.MetricStat.Metric.Namespace":  {namespace},
		"MetricDataQueries.member.1.MetricStat.Metric.MetricName": {name},
		"MetricDataQueries.member.1.MetricStat.Period":            {"60"},
		"MetricDataQueries.member.1.MetricStat.Stat":              {"Sum"},
	}
	for i, k := range sortedKeys(dimensions) {
		n := strconv.Itoa(i + 1)
		p.Set("MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member."+n+".Name", k)
		p.Set("MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member."+n+".Value", dimensions[k])
	}
	body := a.do(t, "monitoring", http.MethodPost, "/", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, []byte(p.Encode()))
	var out struct {
		Values []float64 `xml:"GetMetricDataResult>MetricDataResults>member>Values>member"`
	}
	require.NoError(t, xml.Unmarshal(body, &out), "%s", body)
	for _, v := range out.Values {
		sum += v
	}
	return sum, len(out.Values)
}
