"""ui/widgets/documents"""
