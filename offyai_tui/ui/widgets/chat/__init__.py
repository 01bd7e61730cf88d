"""ui/widgets/chat"""
