namespace EventImaging.Core.Archiving;

/// <summary>
/// An image could not be stored: the store answered with an error or could not be reached. The message names the store,
/// the bucket or directory and the key, never a credential.
/// </summary>
public sealed class ImageStoreException(string message, Exception? inner = null) : Exception(message, inner);
