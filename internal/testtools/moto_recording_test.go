package testtools

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/stretchr/testify/require"
)

func TestParseMotoRecordingNamesEachRequest(t *testing.T) {
	rec := `{"headers": {"Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host", "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}, "method": "POST", "url": "http://127.0.0.1:1/", "body": "QWN0aW9uPUNyZWF0ZVZwYyZWZXJzaW9uPTIwMTYtMTEtMTU=", "body_encoded": true}
{"headers": {"authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/autoscaling/aws4_request, SignedHeaders=host", "content-type": "application/x-www-form-urlencoded"}, "method": "POST", "url": "http://127.0.0.1:1/", "body": "Action=DescribeAutoScalingGroups&Version=2011-01-01", "body_encoded": false}
{"headers": {"Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/logs/aws4_request, SignedHeaders=host", "X-Amz-Target": "Logs_20140328.PutRetentionPolicy"}, "method": "POST", "url": "http://127.0.0.1:1/", "body": "{}", "body_encoded": false}
{"headers": {"Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/s3/aws4_request, SignedHeaders=host"}, "method": "GET", "url": "http://127.0.0.1:1/bucket?list-type=2", "body": null, "body_encoded": false}
{"headers": {"Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/s3/aws4_request, SignedHeaders=host"}, "method": "PUT", "url": "http://127.0.0.1:1/bucket/key", "body": "", "body_encoded": false}
{"headers": {}, "method": "GET", "url": "http://127.0.0.1:1/?Action=DescribeStacks", "body": "", "body_encoded": false}
`
	reqs, err := ParseMotoRecording([]byte(rec))
	require.NoError(t, err)
	require.Equal(t, []MotoRequest{
		{Service: "ec2", Action: "CreateVpc", Method: "POST", Path: "/"},
		{Service: "autoscaling", Action: "DescribeAutoScalingGroups", Method: "POST", Path: "/"},
		{Service: "logs", Action: "PutRetentionPolicy", Method: "POST", Path: "/"},
		{Service: "s3", Method: "GET", Path: "/bucket"},
		{Service: "s3", Method: "PUT", Path: "/bucket/key"},
		{Action: "DescribeStacks", Method: "GET", Path: "/"},
	}, reqs)
	require.Equal(t, []MotoRequest{reqs[0], reqs[2], reqs[4]}, MutatingRequests(reqs))

	_, err = ParseMotoRecording([]byte("{not json\n"))
	require.ErrorContains(t, err, "line 1")
}

func TestMotoRecordsOnlyAfterStartRecording(t *testing.T) {
	m := StartMoto(t)
	m.SetAWSEnv(t)
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"))
	require.NoError(t, err)
	c := ec2.NewFromConfig(cfg)

	// Setup, before the recording: not counted.
	_, err = c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	require.NoError(t, err)

	m.StartRecording(t)
	require.Empty(t, m.Requests(t))
	_, err = c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	require.NoError(t, err)
	require.Equal(t, []MotoRequest{{Service: "ec2", Action: "DescribeVpcs", Method: "POST", Path: "/"}}, m.Requests(t))
	require.Empty(t, MutatingRequests(m.Requests(t)))

	// A mutating call is caught.
	_, err = c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.1.0.0/16")})
	require.NoError(t, err)
	require.Equal(t, []MotoRequest{{Service: "ec2", Action: "CreateVpc", Method: "POST", Path: "/"}}, MutatingRequests(m.Requests(t)))

	// StartRecording again starts afresh.
	m.StartRecording(t)
	require.Empty(t, m.Requests(t))
}
