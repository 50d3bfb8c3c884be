namespace EventImaging.Core.Submission;

/// <summary>Another worker holds the submit lease of this request; the command is redelivered later.</summary>
public sealed class SubmissionBusyException(Guid requestId)
    : Exception($"Request {requestId} is being submitted by another worker.");
